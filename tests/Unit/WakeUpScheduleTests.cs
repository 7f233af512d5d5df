using DigitalPost.Contracts;
using DigitalPost.Infrastructure;

namespace DigitalPost.Tests.Unit;

public class WakeUpLatenessTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(999)]
    [InlineData(1000)]
    [InlineData(86_400_000)]
    public void Every_lateness_falls_in_a_bucket_whose_bounds_hold_it_within_an_eighth(long milliseconds)
    {
        var bucket = WakeUpLateness.BucketOf(milliseconds);
        var lower = bucket == 0 ? 0 : WakeUpLateness.UpperBoundOf(bucket - 1) + 1;

        Assert.InRange(milliseconds, lower, WakeUpLateness.UpperBoundOf(bucket));
        Assert.True(WakeUpLateness.UpperBoundOf(bucket) - lower <= Math.Max(0, lower / 8));
    }

    [Fact]
    public void Buckets_follow_each_other_without_gaps()
    {
        for (var bucket = 1; bucket < WakeUpLateness.BucketCount; bucket++)
            Assert.Equal(bucket, WakeUpLateness.BucketOf(WakeUpLateness.UpperBoundOf(bucket - 1) + 1));
    }

    [Fact]
    public void Percentiles_are_read_from_the_buckets_and_never_exceed_the_maximum()
    {
        var lateness = Of(Enumerable.Repeat(10L, 98).Concat([500, 2000]));

        Assert.Equal(100, lateness.Fired);
        Assert.Equal(10, lateness.Percentile(0.50));
        Assert.Equal(511, lateness.Percentile(0.99));
        Assert.Equal(2000, lateness.Max);
        Assert.Null(WakeUpLateness.None.Percentile(0.5));
    }

    [Fact]
    public void The_difference_of_two_readings_counts_only_the_wake_ups_between_them()
    {
        var before = Of([5, 3000]);
        var after = before + Of([40, 40, 41]);

        var between = after - before;

        // 40 and 41 share the bucket 40..43: a difference knows the bucket, not the exact maximum within it.
        Assert.Equal(3, between.Fired);
        Assert.Equal(43, between.Percentile(0.99));
        Assert.Equal(43, between.Max);
    }

    private static WakeUpLateness Of(IEnumerable<long> milliseconds)
    {
        var counts = new long[WakeUpLateness.BucketCount];
        long max = 0;
        foreach (var ms in milliseconds)
        {
            counts[WakeUpLateness.BucketOf(ms)]++;
            max = Math.Max(max, ms);
        }
        return new WakeUpLateness(counts, max);
    }
}

public class GroupCommitTests
{
    [Fact]
    public async Task Items_added_while_a_write_is_under_way_go_together_in_the_next_write()
    {
        var writes = new List<IReadOnlyList<int>>();
        var first = new TaskCompletionSource();
        var commit = new GroupCommit<int>(async batch =>
        {
            lock (writes) writes.Add(batch);
            if (batch.Contains(0)) await first.Task;
        }, maxBatch: 100);

        var alone = commit.Add(0);
        await WaitFor(() => writes.Count == 1);
        var waiting = Enumerable.Range(1, 5).Select(commit.Add).ToList();
        Assert.All(waiting, t => Assert.False(t.IsCompleted));
        first.SetResult();
        await Task.WhenAll([alone, .. waiting]);

        Assert.Equal([[0], [1, 2, 3, 4, 5]], writes);
    }

    [Fact]
    public async Task A_write_is_split_at_the_largest_batch()
    {
        var writes = new List<IReadOnlyList<int>>();
        var first = new TaskCompletionSource();
        var commit = new GroupCommit<int>(async batch =>
        {
            lock (writes) writes.Add(batch);
            if (batch.Contains(0)) await first.Task;
        }, maxBatch: 2);

        var all = new List<Task> { commit.Add(0) };
        await WaitFor(() => writes.Count == 1);
        all.AddRange(Enumerable.Range(1, 5).Select(commit.Add));
        first.SetResult();
        await Task.WhenAll(all);

        Assert.Equal([[0], [1, 2], [3, 4], [5]], writes);
    }

    [Fact]
    public async Task A_failed_write_fails_its_own_callers_only()
    {
        var first = new TaskCompletionSource();
        var started = 0;
        var commit = new GroupCommit<int>(async batch =>
        {
            Interlocked.Increment(ref started);
            if (batch.Contains(0)) await first.Task;
            if (batch.Contains(1)) throw new InvalidOperationException("the database refused");
        }, maxBatch: 100);

        var zero = commit.Add(0);
        await WaitFor(() => Volatile.Read(ref started) == 1);
        var one = commit.Add(1);
        first.SetResult();
        await zero;
        await Assert.ThrowsAsync<InvalidOperationException>(() => one);
        await commit.Add(2);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException();
            await Task.Delay(5);
        }
    }
}

public class MemoryWakeUpStoreTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 8, 0, 0, TimeSpan.Zero);
    private static GrainId Target(string key) => GrainId.Create("probe", key);

    [Fact]
    public async Task Due_entries_come_earliest_first_up_to_the_limit_with_the_next_due_time()
    {
        var store = new MemoryWakeUpStore();
        await store.Add(1, WakeUpEntry.Of(Target("c"), Start.AddMinutes(3)));
        await store.Add(1, WakeUpEntry.Of(Target("a"), Start.AddMinutes(1)));
        await store.Add(1, WakeUpEntry.Of(Target("b"), Start.AddMinutes(2)));
        await store.Add(2, WakeUpEntry.Of(Target("other shard"), Start));

        var read = await store.Due(1, Start.AddMinutes(2), limit: 10);
        Assert.Equal([Target("a"), Target("b")], read.Due.Select(e => e.Target));
        Assert.Equal(Start.AddMinutes(3), read.Next);

        var limited = await store.Due(1, Start.AddMinutes(5), limit: 1);
        Assert.Equal([Target("a")], limited.Due.Select(e => e.Target));
        Assert.Null((await store.Due(1, Start.AddMinutes(5), limit: 10)).Next);
    }

    [Fact]
    public async Task The_same_entry_added_twice_is_stored_once()
    {
        var store = new MemoryWakeUpStore();
        await store.Add(0, WakeUpEntry.Of(Target("a"), Start));
        await store.Add(0, WakeUpEntry.Of(Target("a"), Start));
        await store.Add(0, WakeUpEntry.Of(Target("a"), Start.AddHours(1)));

        Assert.Equal((2, 1), await store.Count(0, Start));
    }

    [Fact]
    public async Task Completing_removes_what_fired_and_moves_what_failed()
    {
        var store = new MemoryWakeUpStore();
        var fired = WakeUpEntry.Of(Target("fired"), Start);
        var failed = WakeUpEntry.Of(Target("failed"), Start);
        await store.Add(0, fired);
        await store.Add(0, failed);

        await store.Complete(0, [fired], [failed], Start.AddSeconds(5));

        var read = await store.Due(0, Start.AddSeconds(5), limit: 10);
        Assert.Equal([WakeUpEntry.Of(Target("failed"), Start.AddSeconds(5))], read.Due);
    }

    [Fact]
    public void Due_times_are_kept_to_the_microsecond_in_UTC()
    {
        var due = new DateTimeOffset(2026, 1, 5, 10, 0, 0, TimeSpan.FromHours(2)).AddTicks(1234567);

        var entry = WakeUpEntry.Of(Target("a"), due);

        Assert.Equal(TimeSpan.Zero, entry.Due.Offset);
        Assert.Equal(due.UtcTicks - 7, entry.Due.UtcTicks);
    }
}
