using DigitalPost.Infrastructure;

namespace DigitalPost.Tests.Unit;

/// <summary>The writer runs on a grain's single-threaded scheduler; the tests run it on an exclusive scheduler that
/// behaves the same way, and complete the storage writes from the thread pool as real storage I/O would.</summary>
public class CoalescingWriterTests
{
    /// <summary>A storage write that stays in flight until the test completes it.</summary>
    private sealed class FakeStorage
    {
        public List<TaskCompletionSource> Writes { get; } = [];
        public int InFlight { get; private set; }
        public int MaxInFlight { get; private set; }

        public async Task Write()
        {
            var write = new TaskCompletionSource();
            Writes.Add(write);
            MaxInFlight = Math.Max(MaxInFlight, ++InFlight);
            try { await write.Task; }
            finally { InFlight--; }
        }

        public async Task Complete(int index, Exception? failure = null)
        {
            await Task.Run(() =>
            {
                if (failure is null) Writes[index].SetResult();
                else Writes[index].SetException(failure);
            });
            await Settle();
        }
    }

    private static Task OnGrainScheduler(Func<Task> test) =>
        Task.Factory.StartNew(async () =>
        {
            Assert.Null(SynchronizationContext.Current);
            await test();
        }, CancellationToken.None, TaskCreationOptions.DenyChildAttach, new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler).Unwrap();

    /// <summary>Lets every continuation queued on the scheduler run.</summary>
    private static async Task Settle()
    {
        for (var i = 0; i < 20; i++) await Task.Yield();
    }

    [Fact]
    public Task A_single_save_runs_one_write_and_completes_when_it_completes() => OnGrainScheduler(async () =>
    {
        var storage = new FakeStorage();
        var writer = new CoalescingWriter(storage.Write);

        var save = writer.SaveAsync();
        await Settle();
        Assert.Single(storage.Writes);
        Assert.False(save.IsCompleted);

        await storage.Complete(0);
        Assert.True(save.IsCompletedSuccessfully);
        Assert.Single(storage.Writes);

        var later = writer.SaveAsync();
        await Settle();
        Assert.Equal(2, storage.Writes.Count);
        await storage.Complete(1);
        Assert.True(later.IsCompletedSuccessfully);
    });

    [Fact]
    public Task Saves_made_while_a_write_is_in_flight_are_folded_into_exactly_one_next_write() => OnGrainScheduler(async () =>
    {
        var storage = new FakeStorage();
        var writer = new CoalescingWriter(storage.Write);
        var first = writer.SaveAsync();

        Task[] waiting = [writer.SaveAsync(), writer.SaveAsync(), writer.SaveAsync()];
        await Settle();
        Assert.Single(storage.Writes);

        await storage.Complete(0);
        Assert.True(first.IsCompletedSuccessfully);
        Assert.Equal(2, storage.Writes.Count);
        Assert.All(waiting, save => Assert.False(save.IsCompleted, "a save made during write 1 must wait for write 2"));

        await storage.Complete(1);
        Assert.All(waiting, save => Assert.True(save.IsCompletedSuccessfully));
        Assert.Equal(2, storage.Writes.Count);
    });

    [Fact]
    public Task Writes_never_overlap() => OnGrainScheduler(async () =>
    {
        var storage = new FakeStorage();
        var writer = new CoalescingWriter(storage.Write);
        var saves = new List<Task>();
        var completed = 0;

        for (var round = 0; round < 30; round++)
        {
            for (var i = 0; i < round % 4; i++) saves.Add(writer.SaveAsync());
            await Settle();
            Assert.Equal(storage.InFlight, storage.Writes.Count - completed);
            if (round % 3 != 2 && completed < storage.Writes.Count) await storage.Complete(completed++);
        }
        while (completed < storage.Writes.Count) await storage.Complete(completed++);

        Assert.Equal(1, storage.MaxInFlight);
        Assert.All(saves, save => Assert.True(save.IsCompletedSuccessfully));
        Assert.InRange(storage.Writes.Count, 2, saves.Count - 1);
    });

    [Fact]
    public Task A_failed_write_faults_its_caller_but_the_coalesced_next_write_still_runs() => OnGrainScheduler(async () =>
    {
        var storage = new FakeStorage();
        var writer = new CoalescingWriter(storage.Write);
        var first = writer.SaveAsync();
        var next = writer.SaveAsync();

        await storage.Complete(0, new InvalidOperationException("ETag mismatch"));
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => first);
        Assert.Equal("ETag mismatch", failure.Message);
        Assert.Equal(2, storage.Writes.Count);
        Assert.False(next.IsCompleted);

        await storage.Complete(1);
        Assert.True(next.IsCompletedSuccessfully);

        var afterwards = writer.SaveAsync();
        await Settle();
        Assert.Equal(3, storage.Writes.Count);
        await storage.Complete(2);
        Assert.True(afterwards.IsCompletedSuccessfully);
    });

    [Fact]
    public Task Every_save_writes_even_when_the_write_completes_synchronously() => OnGrainScheduler(async () =>
    {
        var writes = 0;
        var writer = new CoalescingWriter(() =>
        {
            writes++;
            return Task.CompletedTask;
        });

        for (var i = 1; i <= 4; i++)
        {
            await writer.SaveAsync();
            Assert.Equal(i, writes);
        }
    });
}
