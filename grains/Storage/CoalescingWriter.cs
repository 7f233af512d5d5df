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
        // Completion is checked rather than fields cleared on the way out, so a write that completes synchronously
        // leaves nothing stale behind.
        if (_running is not { IsCompleted: false }) return _running = Run();
        return _next ??= After(_running);
    }

    private async Task Run() => await write();

    private async Task After(Task previous)
    {
        try { await previous; }
        catch { /* the caller of that write saw its failure; this write stands on its own */ }
        // From here on the write below may not cover later changes: they need a write of their own.
        _next = null;
        await (_running = Run());
    }
}
