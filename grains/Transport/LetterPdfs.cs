using DigitalPost.Contracts;
using DigitalPost.Domain.Memo;

namespace DigitalPost.Infrastructure;

/// <summary>A merge letter's PDF for a MeMo push of its message grain (a letter the bulk lane handed over, pushed again
/// in the resend flow): its batch lays the row's letter out, as it does when the letter is opened.</summary>
public sealed class LetterPdfs(IGrainFactory grains)
{
    public async Task<Message> Inline(Message message)
    {
        var batch = message.Batch ?? throw new InvalidOperationException($"Message {message.Header.MessageUuid} names a letter's PDF but is of no batch.");
        var preview = await grains.GetGrain<IMergeBatchGrain>(batch.BatchId).Preview(batch.Row)
            ?? throw new InvalidOperationException($"Row {batch.Row} of batch {batch.BatchId} is gone: the letter of message {message.Header.MessageUuid} cannot be laid out.");
        return MemoMapping.WithLetterPdf(message, preview.Pdf);
    }
}
