using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;

namespace DigitalPost.Grains;

/// <summary>A batch row's letter as it would be sent: made from the row as its chunk stored it, for the recipient as
/// the registry knows them now.</summary>
internal sealed class BatchPreview(LetterRendering rendering, IRecipientRegistryStore registry)
{
    /// <summary>Null when <paramref name="chunk"/> has no such row (it was rejected). Without
    /// <paramref name="renderPdf"/> the PDF is empty, and the registry is not asked.</summary>
    public async Task<LetterPreview?> Of(BatchHeader header, IBatchChunkGrain chunk, int row, bool renderPdf)
    {
        var found = (await chunk.GetRows()).FirstOrDefault(r => r.Row == row);
        if (found is null) return null;
        IReadOnlyList<AttachmentInfo> attachments = [.. LetterFactory.Attachments(header, found).Select(a => new AttachmentInfo(a.Filename, a.ContentType, a.Content.LongLength))];
        if (!renderPdf) return new LetterPreview(row, [], attachments, found.Fields);
        var recipient = (await registry.Lookup([PartitionContext.Query(found, found.Kind, found.RecipientId)]))[0];
        var pdf = await Task.Run(() => rendering.Render(header, found, recipient));
        return new LetterPreview(row, pdf, attachments, found.Fields);
    }
}
