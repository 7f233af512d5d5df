using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

[GenerateSerializer, Alias("dp.ScheduleState")]
public sealed class ScheduleState
{
    [Id(0)] public List<WakeUpEntry> Entries { get; set; } = [];
}

[GenerateSerializer, Immutable, Alias("dp.WakeUpEntry")]
public sealed record WakeUpEntry([property: Id(0)] DateTimeOffset Due, [property: Id(1)] GrainId Target);

/// <summary>One shard of the durable schedule. Wake-ups survive the activations that asked for them; a reminder brings
/// the shard back after a restart, and a timer on Orleans' own clock fires what is due on the platform's clock.
/// Reentrant, because the grains it wakes schedule their next wake-up while it waits for them.</summary>
[Reentrant]
public sealed class WakeUpSchedulerGrain : Grain, IWakeUpSchedulerGrain, IRemindable
{
    private const string KeepAlive = "keep-alive";
    private readonly IPersistentState<ScheduleState> _state;
    private readonly TimeProvider _time;
    private readonly SchedulerOptions _options;
    private readonly ILogger<WakeUpSchedulerGrain> _log;
    private readonly CoalescingWriter _writer;
    private readonly SortedSet<WakeUpEntry> _due = new(Comparer<WakeUpEntry>.Create((a, b) =>
    {
        var byDue = a.Due.CompareTo(b.Due);
        return byDue != 0 ? byDue : string.CompareOrdinal(a.Target.ToString(), b.Target.ToString());
    }));
    private bool _reminderRegistered;

    public WakeUpSchedulerGrain(
        [PersistentState("schedule", StorageNames.Platform)] IPersistentState<ScheduleState> state,
        TimeProvider time, IOptions<SchedulerOptions> options, ILogger<WakeUpSchedulerGrain> log)
    {
        _state = state;
        _time = time;
        _options = options.Value;
        _log = log;
        _writer = new CoalescingWriter(() =>
        {
            // A fresh snapshot per write: the live set keeps changing while the storage provider serialises.
            _state.State = new ScheduleState { Entries = [.. _due] };
            return _state.WriteStateAsync();
        });
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var entry in _state.State.Entries) _due.Add(entry);
        this.RegisterGrainTimer(FireDue, new GrainTimerCreationOptions(_options.Tick, _options.Tick) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public async Task Schedule(GrainId target, DateTimeOffset due)
    {
        if (!_due.Add(new WakeUpEntry(due, target))) return;
        if (!_reminderRegistered)
        {
            await this.RegisterOrUpdateReminder(KeepAlive, _options.KeepAlivePeriod, _options.KeepAlivePeriod);
            _reminderRegistered = true;
        }
        await _writer.SaveAsync();
    }

    public Task<ScheduleCounts> Counts()
    {
        var now = _time.GetUtcNow();
        return Task.FromResult(new ScheduleCounts(_due.Count, _due.TakeWhile(e => e.Due <= now).Count()));
    }

    // Only its arrival matters: it activated the shard, whose timer does the work.
    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;

    private async Task FireDue()
    {
        var now = _time.GetUtcNow();
        var due = _due.TakeWhile(e => e.Due <= now).Take(_options.MaxConcurrentWakeUps * 4).ToList();
        if (due.Count == 0) return;

        var failed = new List<WakeUpEntry>();
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentWakeUps, TaskScheduler = TaskScheduler.Current },
            async (entry, _) =>
            {
                try { await GrainFactory.GetGrain<IWakeUpTarget>(entry.Target).WakeUp(); }
                catch (Exception e)
                {
                    _log.LogWarning(e, "Wake-up of {Target} due {Due} failed; it is tried again", entry.Target, entry.Due);
                    failed.Add(entry);
                }
            });

        foreach (var entry in due) _due.Remove(entry);
        foreach (var entry in failed) _due.Add(entry with { Due = now + _options.FailedWakeUpRetry });
        await _writer.SaveAsync();
    }
}
