using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Grains;

namespace DigitalPost.Tests.Unit;

/// <summary>Which partition owns which chunk, which silo runs which partition, and how the partitions' tallies make the
/// batch's counts.</summary>
public class BatchPartitionTests
{
    [Theory]
    [InlineData(8, 0, 8, 0)]
    [InlineData(8, 1, 8, 1)]
    [InlineData(8, 8, 8, 1)]
    [InlineData(8, 9, 8, 2)]
    [InlineData(8, 100, 8, 8)]
    [InlineData(8, 1000, 8, 8)]
    [InlineData(8, 3, 1, 3)]
    [InlineData(1, 100, 1, 1)]
    public void A_batch_has_as_many_partitions_as_configured_but_each_owns_at_least_its_share_of_chunks(int configured, int chunks, int chunksPerPartition, int expected) =>
        Assert.Equal(expected, BatchPartitions.Count(configured, chunks, chunksPerPartition));

    [Fact]
    public void Every_chunk_belongs_to_exactly_one_partition_and_the_partitions_share_them_evenly()
    {
        const int chunks = 100;
        var partitions = BatchPartitions.Count(8, chunks, 8);
        var owners = Enumerable.Range(0, chunks).Select(c => BatchPartitions.OfChunk(c, partitions)).ToList();
        Assert.All(owners, p => Assert.InRange(p, 0, partitions - 1));
        var shares = owners.GroupBy(p => p).Select(g => g.Count()).ToList();
        Assert.Equal(partitions, shares.Count);
        Assert.True(shares.Max() - shares.Min() <= 1, "the partitions' shares differ by more than a chunk");
        // The same chunk always has the same owner: a restarted partition finds its letters where it left them.
        Assert.Equal(owners, Enumerable.Range(0, chunks).Select(c => BatchPartitions.OfChunk(c, partitions)));
    }

    [Fact]
    public void A_partitions_key_names_its_batch_and_number()
    {
        var batch = Guid.NewGuid();
        var key = BatchPartitions.KeyOf(batch, 5);
        Assert.Equal($"{batch:N}/5", key);
        Assert.Equal((batch, 5), BatchPartitions.Parse(key));
    }

    [Fact]
    public void A_chunk_whose_letters_were_made_before_its_dispatch_was_recorded_counts_its_letters_once_not_also_as_pending_rows()
    {
        // Chunk 0 (rows 1-3) made and recorded; chunk 1 (rows 4-6) made by a dispatch that died before recording it,
        // row 5 with a copy; chunk 2 (rows 7-9, row 8 rejected) not made at all.
        var ledger = new BatchLedger([]);
        foreach (var (row, copy) in new[] { (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (5, 1), (6, 0) })
            ledger.Add(new LetterRecord { Row = row, Copy = copy, State = LetterState.Queued });
        PartitionChunk[] undispatched = [new(1, 3, 4, 6), new(2, 2, 7, 9)];

        var unmade = ledger.RowsWithoutLetters(undispatched);
        var (counts, letters, _) = ledger.Tally(8, 1, unmade);

        Assert.Equal(2, unmade);
        Assert.Equal((2, 7, 9), (counts.Pending, counts.Queued, letters));
    }

    [Fact]
    public void The_batch_counts_are_the_sum_of_its_partitions_tallies()
    {
        static PartitionTally Tally(int pending, int queued, int delivered, int returned, int copies, int archive) =>
            new(new BatchCounts(0, 0, pending, queued, 0, delivered, 0, 0, 0, returned, 0, 0, copies), pending + queued + delivered + returned,
                delivered + returned, archive);

        var sum = BatchTally.Sum([Tally(3, 1, 5, 0, 1, 2), Tally(0, 0, 4, 1, 0, 0), BatchTally.Unsent(7)]);

        Assert.Equal((10, 1, 9, 1, 1), (sum.Counts.Pending, sum.Counts.Queued, sum.Counts.Delivered, sum.Counts.Returned, sum.Counts.Copies));
        Assert.Equal((21, 10, 2), (sum.Letters, sum.Final, sum.ArchiveQueue));
    }

    [Theory]
    [InlineData(8, 1)]
    [InlineData(8, 2)]
    [InlineData(8, 3)]
    [InlineData(3, 3)]
    [InlineData(2, 3)]
    [InlineData(12, 5)]
    public void A_batchs_partitions_spread_evenly_over_the_silos(int partitions, int silos)
    {
        foreach (var batch in Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()))
        {
            var placed = Enumerable.Range(0, partitions).Select(p => PartitionPlacement.SiloOf(batch, p, silos)).ToList();
            Assert.All(placed, silo => Assert.InRange(silo, 0, silos - 1));
            var shares = Enumerable.Range(0, silos).Select(silo => placed.Count(s => s == silo)).ToList();
            Assert.True(shares.Max() - shares.Min() <= 1, $"{partitions} partitions of batch {batch} on {silos} silos: {string.Join(", ", shares)}");
        }
    }

    [Fact]
    public void The_silo_that_runs_a_batchs_first_partition_differs_from_batch_to_batch()
    {
        // With 8 partitions on 3 silos one silo runs two, not three: which one follows the batch, not always the same.
        var firsts = Enumerable.Range(0, 30).Select(i => PartitionPlacement.SiloOf(new Guid(i, 0, 0, new byte[8]), 0, 3)).Distinct();

        Assert.Equal([0, 1, 2], firsts.Order());
    }

    [Fact]
    public void A_row_is_found_in_the_chunk_whose_rows_span_it_and_a_row_between_chunks_or_in_an_empty_chunk_in_none()
    {
        // Stored out of order, as chunks arrive; chunk 2 had only rejected rows, and row 4 was rejected between chunks.
        var chunks = new ChunksByRow([new(1, 3, 5, 8), new(0, 3, 1, 3), new(2, 0, 0, 0), new(3, 2, 9, 10)]);

        Assert.Equal([0, 0, 1, 1, 3, 3], new[] { 1, 3, 5, 8, 9, 10 }.Select(row => chunks.Of(row)!.Chunk));
        Assert.All(new[] { 0, 4, 11 }, row => Assert.Null(chunks.Of(row)));
    }
}
