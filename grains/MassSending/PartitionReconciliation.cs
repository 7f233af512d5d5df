using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;

namespace DigitalPost.Grains;

/// <summary>What a partition may have missed of its open letters, asked again: the message grains for theirs (their
/// stream is not durable and dies with a silo), the letter store for the bulk lanes' (a receipt or the print provider
/// moved a row without the partition hearing of it). Asked when a partition activates and after a quiet spell that
/// doubles, up to an hour, while asking finds nothing.</summary>
internal sealed class PartitionReconciliation(PartitionContext partition, ILetterStore store, BulkLane bulk,
    Func<IReadOnlyList<BulkLetter>, DateTimeOffset, Task> bulkDelivered, Func<IReadOnlyList<BulkLetter>, LetterState, DateTimeOffset, Task> printProgressed)
{
    private static readonly TimeSpan Longest = TimeSpan.FromHours(1);

    /// <summary>How long a quiet spell lasts before the partition asks.</summary>
    public TimeSpan After { get; private set; } = partition.Options.ReconcileAfter;

    public async Task Run()
    {
        var missed = await CatchUpBulk();
        var open = partition.Ledger.Letters.Values.Where(l => l.MessageUuid is not null && l.Lane == LetterLane.MessageGrain && !l.State.IsFinal()).ToList();
        var orphans = new List<LetterRecord>();
        using var gate = new SemaphoreSlim(partition.Options.DispatchConcurrency);
        await Task.WhenAll(open.Select(async letter =>
        {
            await gate.WaitAsync();
            try
            {
                var change = await partition.Grains.GetGrain<IMessageGrain>(letter.MessageUuid!.Value).GetLetterStatus();
                if (change is null && letter.PushedAt is not null) orphans.Add(letter);
                else if (change is not null && partition.Heard(change)) missed++;
            }
            finally { gate.Release(); }
        }));
        // Taken out of the bulk lane, but its message grain never took it over (it died on the way): it does now.
        foreach (var orphan in orphans) await bulk.HandOver(orphan, null);
        missed += orphans.Count;
        After = missed > 0 ? partition.Options.ReconcileAfter : TimeSpan.FromTicks(Math.Min(2 * After.Ticks, Longest.Ticks));
        partition.LastHeard = partition.Time.GetUtcNow();
        if (missed > 0)
            partition.Log.LogWarning("Partition {Partition} of batch {BatchId}: {Missed} open letters had changes it never heard of", partition.Partition, partition.BatchId, missed);
    }

    /// <summary>Bulk-lane letters that moved in the letter store without the partition having heard of it.</summary>
    public async Task<int> CatchUpBulk()
    {
        var missed = 0;
        var open = partition.Ledger.Letters.Values.Where(l => l.Lane is LetterLane.ReceiverSystem or LetterLane.Print && !l.State.IsFinal()).ToList();
        if (open.Count == 0) return 0;
        var stored = await store.Load(partition.BatchId, [.. partition.Plan.Chunks.Where(c => c.Rows > 0).Select(c => (c.FirstRow, c.LastRow))]);
        foreach (var letter in open)
        {
            if (stored.GetValueOrDefault(letter.Key) is not { } row || row.MessageUuid != letter.MessageUuid || row.State == letter.State) continue;
            var at = row.DeliveredAt ?? partition.Time.GetUtcNow();
            var moved = new BulkLetter(partition.BatchId, letter.Row, letter.Copy, letter.MessageUuid!.Value, row.BulkSystem, Lane: letter.Lane, Partition: partition.Partition);
            if (row is { State: LetterState.Delivered, BulkSystem: not null }) await bulkDelivered([moved], at);
            else if (row.State is LetterState.Printed or LetterState.HandedToPostalService) await printProgressed([moved], row.State, at);
            else continue;
            missed++;
        }
        return missed;
    }
}
