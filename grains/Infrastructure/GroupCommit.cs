namespace DigitalPost.Infrastructure;

/// <summary>Group commit for a store shared by many callers: the first item is written at once, and the items added
/// while a write is under way wait for it and go together in the next one, up to <paramref name="maxBatch"/> per
/// write. Under load one statement carries many items; alone, an item waits for nothing. Each caller's task
/// completes when the write that holds its item has, and fails if that write fails.</summary>
public sealed class GroupCommit<T>(Func<IReadOnlyList<T>, Task> write, int maxBatch)
{
    private readonly Lock _gate = new();
    private List<(T Item, TaskCompletionSource Done)> _pending = [];
    private bool _writing;

    public Task Add(T item)
    {
        // Continuations run off the writer loop, so a slow caller cannot hold up the next write.
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool start;
        lock (_gate)
        {
            _pending.Add((item, done));
            start = !_writing;
            _writing = true;
        }
        // Off the caller's scheduler: a grain's turn must not carry other grains' writes.
        if (start) _ = Task.Run(Drain);
        return done.Task;
    }

    private async Task Drain()
    {
        while (true)
        {
            List<(T Item, TaskCompletionSource Done)> batch;
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    _writing = false;
                    return;
                }
                if (_pending.Count <= maxBatch) (batch, _pending) = (_pending, []);
                else
                {
                    batch = _pending[..maxBatch];
                    _pending.RemoveRange(0, maxBatch);
                }
            }
            try
            {
                await write(batch.Select(p => p.Item).ToList());
                foreach (var (_, done) in batch) done.SetResult();
            }
            catch (Exception e)
            {
                foreach (var (_, done) in batch) done.SetException(e);
            }
        }
    }
}
