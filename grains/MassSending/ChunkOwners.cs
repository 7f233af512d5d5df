using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;

namespace DigitalPost.Grains;

/// <summary>Which partition owns each of a batch's chunks, and so each row: it lists a partition's chunks for its plan,
/// and passes calls about one letter on to the partition owning the letter's row. Only callers that know a letter's row
/// but not its partition go that way: the print provider (a print job names batch, row and copy) and a reply's terms.
/// Receipts and a bulk letter's status reach their partitions directly, since a letter's row in the letter store names
/// its partition.</summary>
internal sealed class ChunkOwners(Func<MergeBatchState> batch, Func<int, IBatchPartitionGrain> partitions)
{
    /// <summary>Fixed once the batch is sealed: kept for the activation.</summary>
    private ChunksByRow? _sealed;

    private MergeBatchState S => batch();

    /// <summary>The chunks <paramref name="partition"/> sends, in order; a chunk that was never stored has no rows.</summary>
    public IReadOnlyList<PartitionChunk> ChunksOf(int partition) => [.. Enumerable.Range(0, S.ChunkCount)
        .Where(c => BatchPartitions.OfChunk(c, S.Partitions) == partition)
        .Select(c => S.Chunks.TryGetValue(c, out var info) ? info.Of(c) : new PartitionChunk(c, 0, 0, 0))];

    public async Task<MessageStatusView?> BulkView(Guid messageUuid, int row, int copy) =>
        PartitionOf(row) is { } p ? await partitions(p).BulkView(messageUuid, row, copy) : null;

    public Task PrintProgressed(IReadOnlyList<BulkLetter> letters, LetterState state, DateTimeOffset at) =>
        Task.WhenAll(ByPartition(letters).Select(g => partitions(g.Key).PrintProgressed([.. g], state, at)));

    public PartitionChunk? ChunkOf(int row) => (S.Sealed ? _sealed ??= Chunks() : Chunks()).Of(row);

    private ChunksByRow Chunks() => new(S.Chunks.Select(c => c.Value.Of(c.Key)));

    private IEnumerable<IGrouping<int, BulkLetter>> ByPartition(IReadOnlyList<BulkLetter> letters) =>
        letters.Where(l => PartitionOf(l.Row) is not null).GroupBy(l => PartitionOf(l.Row)!.Value);

    private int? PartitionOf(int row) => ChunkOf(row) is { } chunk && S.Partitions > 0 ? BatchPartitions.OfChunk(chunk.Chunk, S.Partitions) : null;
}
