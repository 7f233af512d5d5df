using DigitalPost.Contracts;
using DigitalPost.Infrastructure;

namespace DigitalPost.Grains;

[GenerateSerializer, Immutable, Alias("dp.ChunkInfo")]
public sealed record ChunkInfo(
    [property: Id(0)] int Rows,
    [property: Id(1)] int FirstRow,
    [property: Id(2)] int LastRow,
    [property: Id(3)] IReadOnlyList<RowIssue> Issues)
{
    public PartitionChunk Of(int chunk) => new(chunk, Rows, FirstRow, LastRow);
}

[GenerateSerializer, Alias("dp.MergeBatchState"), SnapshotOnWrite]
public sealed class MergeBatchState
{
    [Id(0)] public BatchHeader? Header { get; set; }
    [Id(1)] public bool Sealed { get; set; }
    [Id(2)] public DateTimeOffset AcceptedAt { get; set; }
    [Id(3)] public Dictionary<int, ChunkInfo> Chunks { get; set; } = [];
    [Id(4)] public int ChunkCount { get; set; }
    // Id 5 counted the chunks dispatched, Id 9 marked the batch archived: each partition keeps its own now.
    // Id 6 held the letters, Id 7 the archive queue: they live in the letter store and the partitions.
    [Id(8)] public DateTimeOffset? CompletedAt { get; set; }
    /// <summary>How many partitions send the batch, fixed when it is sealed.</summary>
    [Id(10)] public int Partitions { get; set; }
    /// <summary>The final tallies of the partitions that completed: their counts are known without asking them.</summary>
    [Id(11)] public Dictionary<int, PartitionTally> Completed { get; set; } = [];
    /// <summary>The sender cancelled the batch: its letters not yet sent were stopped, whatever its send time.</summary>
    [Id(12)] public bool Cancelled { get; set; }
}
