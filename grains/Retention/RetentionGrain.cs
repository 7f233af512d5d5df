using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DigitalPost.Retention;

[GenerateSerializer, Alias("dp.RetentionState")]
public sealed class RetentionState
{
    /// <summary>When the job runs next, on the platform's clock; its wake-up is scheduled for then.</summary>
    [Id(0)] public DateTimeOffset? NextRun { get; set; }
}

/// <summary>Runs the retention job on the platform's clock every <see cref="RetentionOptions.Interval"/>, and erasures
/// on request. One activation in the cluster, so two silos never delete the same rows at once.</summary>
public sealed class RetentionGrain(
    [PersistentState("retention", StorageNames.Platform)] IPersistentState<RetentionState> state,
    RetentionJob job, Erasure erasure, WakeUps wakeUps, TimeProvider time, IOptions<RetentionOptions> options, ILogger<RetentionGrain> log)
    : Grain, IRetentionGrain
{
    private RetentionRun? _last;
    private Task _running = Task.CompletedTask;

    public async Task Start()
    {
        if (state.State.NextRun is { } next && next > time.GetUtcNow()) return;
        await ScheduleNext(state.State.NextRun is null ? time.GetUtcNow() + options.Value.Interval : time.GetUtcNow());
    }

    /// <summary>The next run is scheduled before this one starts, so a crash during a run delays nothing but that run
    /// (which deletes from where the last one stopped). The run itself is not awaited: a scheduler shard must not wait
    /// for a million deletions.</summary>
    public async Task WakeUp()
    {
        if (state.State.NextRun is { } next && next > time.GetUtcNow()) return;
        await ScheduleNext(time.GetUtcNow() + options.Value.Interval);
        if (_running.IsCompleted) _running = RunLogged();
    }

    public async Task<RetentionRun> Run()
    {
        await _running;
        return _last = await job.Run();
    }

    public Task<RetentionRun?> LastRun() => Task.FromResult(_last);

    public Task<ErasureReport> Erase(RecipientKind kind, string recipientId) => erasure.Erase(kind, recipientId);

    private async Task RunLogged()
    {
        try { _last = await job.Run(); }
        catch (Exception e) { log.LogError(e, "The retention job failed; it runs again at {Next}", state.State.NextRun); }
    }

    private async Task ScheduleNext(DateTimeOffset at)
    {
        await wakeUps.Schedule(this.GetGrainId(), at);
        state.State.NextRun = at;
        await state.WriteStateAsync();
    }
}
