using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;

namespace DigitalPost.Grains;

/// <summary>What the parts of a batch partition share: the batch and partition, its plan, the ledger of its own letters,
/// where changed letters are saved and where their changes go. Lives as long as the partition's activation.</summary>
internal sealed class PartitionContext(Guid batchId, int partition, BatchPartitionPlan plan, BatchLedger ledger, IGrainFactory grains,
    IRecipientRegistryStore registry, TimeProvider time, MassSendingOptions options, ILogger log)
{
    public Guid BatchId { get; } = batchId;
    public int Partition { get; } = partition;
    public BatchPartitionPlan Plan { get; } = plan;
    public BatchHeader Header => Plan.Header;
    public BatchLedger Ledger { get; } = ledger;
    public IGrainFactory Grains { get; } = grains;
    public TimeProvider Time { get; } = time;
    public MassSendingOptions Options { get; } = options;
    public ILogger Log { get; } = log;
    public LetterSaver Saver { get; set; } = null!;
    public LetterEvents Events { get; set; } = null!;
    /// <summary>When the partition last heard of a change it did not know: reconciliation waits for a quiet spell.</summary>
    public DateTimeOffset LastHeard { get; set; } = time.GetUtcNow();

    public BatchRef RefOf(LetterRecord letter) => new(BatchId, letter.Row, letter.Copy, Partition);

    /// <summary>The registry's store itself: its grain is the front for services outside the silo, and a hop through it
    /// would copy every chunk's lookups for nothing.</summary>
    public IRecipientRegistryStore Registry { get; } = registry;

    public static RecipientQuery Query(BatchRow row, RecipientKind kind, string id, int copy = 0) =>
        new(kind, id, copy == 0 && kind == RecipientKind.Cvr ? row.PNumber : null);

    /// <summary>A row of this partition, read from its chunk (rarely: a hand-over, a retry).</summary>
    public async Task<BatchRow?> FindRow(int row)
    {
        var chunk = Plan.Chunks.FirstOrDefault(c => c.Rows > 0 && c.FirstRow <= row && row <= c.LastRow);
        if (chunk is null) return null;
        var rows = await Grains.GetGrain<IBatchChunkGrain>(BatchChunkGrain.KeyOf(BatchId, chunk.Chunk)).GetRows();
        return rows.FirstOrDefault(r => r.Row == row);
    }

    /// <summary>Ends a letter the batch itself decided on (returned by the recipient check, refused by validation).</summary>
    public void Fail(LetterRecord letter, LetterState state, string code, string text, string remedy)
    {
        letter.State = state;
        Saver.Changed(letter.Key);
        (letter.ErrorCode, letter.ErrorText, letter.Remedy) = (code, text, remedy);
        Events.Webhook(new LetterStatusChanged(RefOf(letter), letter.MessageUuid ?? Guid.Empty, state, Time.GetUtcNow(), code, text));
    }

    /// <summary>Takes a change of a letter that a lane moved in the letter store first (a receipt, the print provider):
    /// the ledger catches up. False when it changes nothing.</summary>
    public bool Moved(LetterStatusChanged change, DateTimeOffset at)
    {
        if (!Ledger.Apply(change)) return false;
        LastHeard = Time.GetUtcNow();
        Ledger.Letters[LetterRecord.KeyOf(change.Letter.Row, change.Letter.Copy)].DeliveredAt = at;
        Events.Add(change);
        return true;
    }

    /// <summary>Takes a letter's change from its message grain (stream or asked); false when it changes nothing.</summary>
    public bool Heard(LetterStatusChanged change)
    {
        if (!Ledger.Apply(change)) return false;
        LastHeard = Time.GetUtcNow();
        Saver.Changed(LetterRecord.KeyOf(change.Letter.Row, change.Letter.Copy));
        Events.Add(change);
        return true;
    }
}

/// <summary>A letter on its way out: its row, its recipient as the registry gave it, and the receiver system that takes
/// it in bulk (null when it goes another way).</summary>
internal sealed record Outgoing(BatchRow Row, LetterRecord Letter, RecipientInfo Recipient, DeliveryTarget? Target)
{
    public Message MessageOf(PartitionContext partition) =>
        LetterFactory.Create(Letter.MessageUuid!.Value, partition.Header, partition.BatchId, Row, Letter.Copy, Recipient, Letter.Channel!.Value, partition.Partition);
}
