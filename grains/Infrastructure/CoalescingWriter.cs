namespace DigitalPost.Infrastructure;

/// <summary>Serialises the state writes of a reentrant grain and folds the changes made while one write is under way
/// into a single next write (group commit within the grain), so concurrent callers never race on the ETag.
/// Used only on the grain's own scheduler, so it needs no locks.</summary>
public sealed class CoalescingWriter(Func<Task> write)
{
    private Task? _running;
    private Task? _next;

    /// <summary>Completes once a write that began after this call has finished.</summary>
    public Task SaveAsync()
    {
        if (_running is null)
        {
            _running = Run();
            return _running;
        }
        return _next ??= After(_running);
    }

    private async Task Run()
    {
        try { await write(); }
        finally { _running = null; }
    }

    private async Task After(Task previous)
    {
        try { await previous; }
        catch { /* the caller of that write saw its failure; this write stands on its own */ }
        _next = null;
        _running = Run();
        await _running;
    }
}
