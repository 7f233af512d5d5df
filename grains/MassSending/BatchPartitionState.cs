namespace DigitalPost.Grains;

[GenerateSerializer, Alias("dp.BatchPartitionState")]
public sealed class BatchPartitionState
{
    /// <summary>The batch's send time came and the batch started this partition.</summary>
    [Id(0)] public bool Started { get; set; }
    /// <summary>The partition's chunks 0..DispatchedChunks-1 (in its plan's order) have all their letters made.</summary>
    [Id(1)] public int DispatchedChunks { get; set; }
    /// <summary>Every letter final, stored and (when delivered through a message grain) archived: a later activation has
    /// nothing to send, requeue or reconcile.</summary>
    [Id(2)] public bool Completed { get; set; }
    /// <summary>The sender cancelled the batch: no more letters are made or sent, and rows without letters count as
    /// cancelled.</summary>
    [Id(3)] public bool Cancelled { get; set; }
}
