namespace DigitalPost.Infrastructure;

/// <summary>Coalesces requests from many callers (grains, HTTP requests) into one database statement: while one
/// statement runs, the requests that arrive meanwhile wait and go together in the next. Each caller gets back the
/// results for its own keys. Thread-safe; at most one statement is under way at a time.</summary>
public sealed class GroupCommit<TKey, TResult>(Func<IReadOnlyList<TKey>, Task<IReadOnlyList<TResult>>> run, Func<TResult, TKey> keyOf, int maxKeys = 20_000)
    where TKey : notnull
{
    private readonly Lock _gate = new();
    private List<Request> _waiting = [];
    private bool _running;

    private sealed record Request(IReadOnlyList<TKey> Keys, TaskCompletionSource<IReadOnlyList<TResult>> Done);

    public Task<IReadOnlyList<TResult>> Submit(IReadOnlyList<TKey> keys)
    {
        if (keys.Count == 0) return Task.FromResult<IReadOnlyList<TResult>>([]);
        var request = new Request(keys, new TaskCompletionSource<IReadOnlyList<TResult>>(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_gate)
        {
            _waiting.Add(request);
            if (_running) return request.Done.Task;
            _running = true;
        }
        _ = Task.Run(Drain);
        return request.Done.Task;
    }

    private async Task Drain()
    {
        while (true)
        {
            List<Request> group;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _running = false;
                    return;
                }
                group = Take();
            }
            try
            {
                var results = await run([.. group.SelectMany(r => r.Keys)]);
                var byKey = results.ToLookup(keyOf);
                foreach (var request in group)
                    request.Done.SetResult([.. request.Keys.SelectMany(k => byKey[k])]);
            }
            catch (Exception e)
            {
                foreach (var request in group) request.Done.SetException(e);
            }
        }
    }

    /// <summary>The waiting requests up to the statement's size limit (at least one, whatever its size).</summary>
    private List<Request> Take()
    {
        var count = 0;
        var taken = 0;
        while (taken < _waiting.Count && (taken == 0 || count + _waiting[taken].Keys.Count <= maxKeys)) count += _waiting[taken++].Keys.Count;
        var group = _waiting[..taken];
        _waiting = _waiting[taken..];
        return group;
    }
}

/// <summary>Group commit of single items with no result: each caller's task completes when the write that holds its
/// item has, and fails if that write fails. At most <paramref name="maxBatch"/> items per write.</summary>
public sealed class GroupCommit<T>(Func<IReadOnlyList<T>, Task> write, int maxBatch) where T : notnull
{
    private readonly GroupCommit<T, T> _inner = new(async items =>
    {
        await write(items);
        return items;
    }, item => item, maxBatch);

    public Task Add(T item) => _inner.Submit([item]);
}
