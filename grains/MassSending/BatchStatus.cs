using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;

namespace DigitalPost.Grains;

/// <summary>A batch's status as its sender sees it: its rows and their issues from the batch's own state, its letters'
/// counts as the sum of its partitions' tallies.</summary>
internal sealed class BatchStatus(Guid batchId, Func<MergeBatchState> state, Func<bool> due, Func<int, IBatchPartitionGrain> partitions)
{
    private MergeBatchState S => state();

    public int AcceptedRows => S.Chunks.Values.Sum(c => c.Rows);
    public int RejectedRows => Issues().Where(i => i.Severity == IssueSeverity.Error).Select(i => i.Row).Distinct().Count();
    public IEnumerable<RowIssue> Issues() => S.Chunks.OrderBy(c => c.Key).SelectMany(c => c.Value.Issues);

    /// <summary>A completed partition's tally as it reported it, the others' asked now. Before the send time no
    /// partition has started, and every accepted row is one pending letter.</summary>
    public async Task<BatchStatusView> Now()
    {
        var tally = !due() ? BatchTally.Unsent(AcceptedRows)
            : BatchTally.Sum(await Task.WhenAll(Enumerable.Range(0, S.Partitions)
                .Select(p => S.Completed.TryGetValue(p, out var done) ? Task.FromResult(done) : partitions(p).GetTally())));
        return View(tally);
    }

    public BatchStatusView View(PartitionTally tally)
    {
        var header = S.Header!;
        var counts = tally.Counts with { Accepted = AcceptedRows, RejectedRows = RejectedRows };
        var phase = S.CompletedAt is not null ? BatchPhase.Completed : !due() ? BatchPhase.Scheduled : BatchPhase.Sending;
        return new BatchStatusView(batchId, header.SenderBatchId, header.SenderId, header.Options.Label, phase, counts,
            tally.Letters == 0 ? 1 : (double)tally.Final / tally.Letters, S.AcceptedAt, header.Options.SendAt, S.CompletedAt,
            counts.Pending, tally.ArchiveQueue, Issues().Count(i => i.Severity == IssueSeverity.Warning));
    }
}
