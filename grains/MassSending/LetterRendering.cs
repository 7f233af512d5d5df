using System.Collections.Concurrent;
using DigitalPost.Contracts;
using DigitalPost.Domain.Letters;
using DigitalPost.Domain.MassSending;

namespace DigitalPost.Infrastructure;

/// <summary>Renders a batch row's letter to PDF. Parsed templates are kept per batch content, so a batch parses its
/// template once however many rows it has.</summary>
public sealed class LetterRendering
{
    private const int TemplatesKept = 256;
    private readonly TimeProvider _time;
    private readonly PdfLetterRenderer _pdf = new();
    private readonly ConcurrentDictionary<string, LetterTemplate> _templates = new();

    public LetterRendering(TimeProvider time) => _time = time;

    public byte[] Render(BatchHeader batch, BatchRow row, RecipientInfo? recipient)
    {
        if (_templates.Count > TemplatesKept) _templates.Clear();
        var template = _templates.GetOrAdd(batch.Fingerprint, _ => LetterTemplate.Parse(batch.Template));
        var lines = recipient is null ? [] : LetterFactory.RecipientLines(recipient);
        var date = DateOnly.FromDateTime((batch.Options.ValoerDate ?? _time.GetUtcNow()).UtcDateTime);
        return _pdf.Render(new LetterContent(batch.Options.Label, batch.SenderName, lines, date, template.Render(row.Fields)));
    }
}
