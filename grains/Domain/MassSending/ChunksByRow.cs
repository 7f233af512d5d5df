using DigitalPost.Contracts;

namespace DigitalPost.Domain.MassSending;

/// <summary>A batch's chunks with rows, by first row: finds the chunk whose rows span a given row, and so its partition.
/// A batch's rows are numbered over its whole CSV, so a row rejected at upload may fall between two chunks (or inside
/// one's span without being among its rows).</summary>
public sealed class ChunksByRow(IEnumerable<PartitionChunk> chunks)
{
    private readonly PartitionChunk[] _chunks = [.. chunks.Where(c => c.Rows > 0).OrderBy(c => c.FirstRow)];

    /// <summary>The chunk whose first and last rows enclose <paramref name="row"/>; null when none does.</summary>
    public PartitionChunk? Of(int row)
    {
        var (low, high) = (0, _chunks.Length - 1);
        while (low <= high)
        {
            var mid = (low + high) / 2;
            if (row < _chunks[mid].FirstRow) high = mid - 1;
            else if (row > _chunks[mid].LastRow) low = mid + 1;
            else return _chunks[mid];
        }
        return null;
    }
}
