using DigitalPost.Contracts;

namespace DigitalPost.Domain.MassSending;

/// <summary>A batch's counts as the sum of its partitions' tallies. Each partition counts only its own letters and the
/// rows of its own chunks without letters yet, so no letter is counted twice, whichever partitions restarted.</summary>
public static class BatchTally
{
    public static PartitionTally Sum(IEnumerable<PartitionTally> tallies)
    {
        int pending = 0, queued = 0, failing = 0, delivered = 0, virk = 0, print = 0, sms = 0, returned = 0, failed = 0, rerouted = 0, copies = 0, cancelled = 0;
        int letters = 0, final = 0, archiveQueue = 0;
        foreach (var t in tallies)
        {
            var c = t.Counts;
            (pending, queued, failing, delivered) = (pending + c.Pending, queued + c.Queued, failing + c.Failing, delivered + c.Delivered);
            (virk, print, sms, returned, failed) = (virk + c.ToVirk, print + c.ToPrint, sms + c.ToNemSms, returned + c.Returned, failed + c.Failed);
            (rerouted, copies, cancelled) = (rerouted + c.Rerouted, copies + c.Copies, cancelled + c.Cancelled);
            (letters, final, archiveQueue) = (letters + t.Letters, final + t.Final, archiveQueue + t.ArchiveQueue);
        }
        return new PartitionTally(new BatchCounts(0, 0, pending, queued, failing, delivered, virk, print, sms, returned, failed, rerouted, copies, cancelled),
            letters, final, archiveQueue);
    }

    /// <summary>The tally of a partition (or a batch) none of whose rows has letters yet: one pending letter a row.</summary>
    public static PartitionTally Unsent(int rows) => new(new BatchCounts(0, 0, rows, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), rows, 0, 0);
}
