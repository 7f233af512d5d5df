namespace DigitalPost.Domain.Letters;

/// <summary>One recipient's letter, ready for <see cref="PdfLetterRenderer"/>: <see cref="Body"/> is the rendered template,
/// where a line starting with "# " is a heading and a blank line separates paragraphs.</summary>
public sealed record LetterContent(string Title, string SenderName, IReadOnlyList<string> RecipientLines, DateOnly Date, string Body);
