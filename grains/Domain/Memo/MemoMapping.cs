using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;

namespace DigitalPost.Domain.Memo;

/// <summary>The platform's message as a receiver system registered for NgDP's <c>REST_PUSH</c> (or <c>REST_PULL</c>) gets
/// it: a MeMo. The header's fields map one to one (<see cref="MemoWriter"/>: valør as <c>doNotDeliverUntilDate</c>, reply
/// allowed as <c>reply</c>, actions as <c>Action</c> with their <c>EntryPoint</c> or <c>Reservation</c> and end time,
/// attachments as <c>AdditionalDocument</c>). What does not: a merge letter's PDF, which the platform lays out when the
/// letter is opened and names by a location. MeMo has no reference to a document elsewhere, so the rendered PDF goes
/// into the MeMo as the main document's file.</summary>
public static class MemoMapping
{
    /// <summary>The version written unless a system is known to want another.</summary>
    public const string DefaultVersion = "1.2";

    /// <summary>What the MeMo carries beyond the message: created when it is pushed. The messageID is the sender's own
    /// id of the message, which the platform's message does not carry.</summary>
    public static MemoExtras Extras(DateTimeOffset pushedAt, string version = DefaultVersion) => new(version, CreatedDateTime: pushedAt);

    /// <summary>Whether the message has a merge letter's PDF named by its location rather than carried or stored.</summary>
    public static bool NeedsLetterPdf(Message message) => MessageDocuments.Files(message).Any(f => IsLetterPdf(f.Key, f.File));

    /// <summary>The message with the merge letter's PDF in place of its location.</summary>
    public static Message WithLetterPdf(Message message, byte[] pdf) =>
        MessageDocuments.MapFiles(message, (key, file) => IsLetterPdf(key, file) ? file with { Content = pdf, Location = null } : file);

    private static bool IsLetterPdf(DocumentKey key, DocumentFile file) =>
        !file.IsStored() && file.Content.Length == 0 && file.Location == LetterFactory.DocumentLocation(key.MessageUuid);
}
