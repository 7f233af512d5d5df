using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

/// <summary>One shard of the durable schedule. The entries live in the <see cref="IWakeUpStore"/>, never in the
/// grain: the shard remembers only when its next entry is due, so while nothing is due a tick costs a comparison and
/// no read, however many entries wait. A reminder brings the shard back after a restart, and a timer on Orleans'
/// own clock fires what is due on the platform's clock. Reentrant, because the grains it wakes schedule their next
/// wake-up while it waits for them.</summary>
[Reentrant]
public sealed class WakeUpSchedulerGrain : Grain, IWakeUpSchedulerGrain, IRemindable
{
    private const string KeepAlive = "keep-alive";
    private readonly IWakeUpStore _store;
    private readonly TimeProvider _time;
    private readonly SchedulerOptions _options;
    private readonly ILogger<WakeUpSchedulerGrain> _log;
    private readonly long[] _lateness = new long[WakeUpLateness.BucketCount];
    private long _maxLatenessMs;
    private int _shard;
    private Task<IGrainReminder>? _keepAlive;

    /// <summary>Before this, on the platform's clock, nothing in the store is due. MinValue: unknown, read the store.</summary>
    private DateTimeOffset _lookAt = DateTimeOffset.MinValue;

    /// <summary>The earliest entry scheduled while the store was being read, which that read may not have seen.</summary>
    private DateTimeOffset _scheduledDuringRead = DateTimeOffset.MaxValue;

    /// <summary>Entries being fired, and those of them scheduled again meanwhile: those must stay in the store.</summary>
    private readonly HashSet<WakeUpEntry> _firing = [];
    private readonly HashSet<WakeUpEntry> _rescheduled = [];

    public WakeUpSchedulerGrain(IWakeUpStore store, TimeProvider time, IOptions<SchedulerOptions> options, ILogger<WakeUpSchedulerGrain> log)
    {
        _store = store;
        _time = time;
        _options = options.Value;
        _log = log;
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyLong();
        // The store keeps the shard as a smallint.
        if (key is < 0 or > short.MaxValue) throw new InvalidOperationException($"Wake-up shard {key} is not between 0 and {short.MaxValue}.");
        _shard = (int)key;
        this.RegisterGrainTimer(FireDue, new GrainTimerCreationOptions(_options.Tick, _options.Tick) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public async Task Schedule(GrainId target, DateTimeOffset due)
    {
        var entry = WakeUpEntry.Of(target, due);
        // Shared by the calls that arrive while it is under way: one registration per activation, not one per call.
        _keepAlive ??= this.RegisterOrUpdateReminder(KeepAlive, _options.KeepAlivePeriod, _options.KeepAlivePeriod);
        try { await _keepAlive; }
        catch
        {
            if (_keepAlive is { IsFaulted: true }) _keepAlive = null;
            throw;
        }
        try { await _store.Add(_shard, entry); }
        catch (Exception e)
        {
            // The caller is another grain: the database driver's exception types do not cross the wire.
            _log.LogWarning(e, "The wake-up of {Target} due {Due} was not stored", target, entry.Due);
            throw new InvalidOperationException($"The wake-up of {target} due {entry.Due:O} was not stored: {e.Message}");
        }
        if (_firing.Contains(entry)) _rescheduled.Add(entry);
        if (entry.Due < _lookAt) _lookAt = entry.Due;
        if (entry.Due < _scheduledDuringRead) _scheduledDuringRead = entry.Due;
    }

    public async Task<ScheduleCounts> Counts()
    {
        var (pending, due) = await _store.Count(_shard, _time.GetUtcNow());
        return new ScheduleCounts(pending, due, new WakeUpLateness([.. _lateness], _maxLatenessMs));
    }

    public Task Resume()
    {
        _lookAt = DateTimeOffset.MinValue;
        return Task.CompletedTask;
    }

    // It activates the shard, whose timer does the work, and has it read the store again: that bounds how long a
    // view gone stale (say, rows added by a second activation during a membership change) can delay a wake-up.
    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        _lookAt = DateTimeOffset.MinValue;
        return Task.CompletedTask;
    }

    private async Task FireDue()
    {
        // Drains in reads of at most `limit`; what a target schedules anew while it is woken waits for the next tick.
        while (_time.GetUtcNow() >= _lookAt)
        {
            var now = _time.GetUtcNow();
            var limit = _options.MaxConcurrentWakeUps * 4;
            _scheduledDuringRead = DateTimeOffset.MaxValue;
            var read = await _store.Due(_shard, now, limit);
            var next = Min(read.Next ?? DateTimeOffset.MaxValue, _scheduledDuringRead);
            if (read.Due.Count == 0)
            {
                _lookAt = next;
                return;
            }

            var failed = await Fire(read.Due);
            var fired = read.Due.Where(e => !failed.Contains(e) && !_rescheduled.Contains(e)).ToList();
            var retryAt = now + _options.FailedWakeUpRetry;
            try { await _store.Complete(_shard, fired, [.. failed.Where(e => !_rescheduled.Contains(e))], retryAt); }
            finally
            {
                _firing.Clear();
                _rescheduled.Clear();
            }
            // The next is the earliest of what the read saw after now, what was scheduled since, and the retries.
            _lookAt = Min(Min(next, _scheduledDuringRead), failed.Count > 0 ? retryAt : DateTimeOffset.MaxValue);
            // A full read may have left due entries behind: read on.
            if (read.Due.Count < limit) return;
            _lookAt = DateTimeOffset.MinValue;
        }
    }

    /// <summary>Wakes the entries' targets, a bounded number at once; returns those that failed.</summary>
    private async Task<HashSet<WakeUpEntry>> Fire(IReadOnlyList<WakeUpEntry> due)
    {
        _firing.UnionWith(due);
        var failed = new HashSet<WakeUpEntry>();
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentWakeUps, TaskScheduler = TaskScheduler.Current },
            async (entry, _) =>
            {
                try
                {
                    await GrainFactory.GetGrain<IWakeUpTarget>(entry.Target).WakeUp();
                    RecordLateness(_time.GetUtcNow() - entry.Due);
                }
                catch (Exception e)
                {
                    _log.LogWarning(e, "Wake-up of {Target} due {Due} failed; it is tried again", entry.Target, entry.Due);
                    failed.Add(entry);
                }
            });
        return failed;
    }

    private void RecordLateness(TimeSpan lateness)
    {
        var ms = Math.Max(0, (long)lateness.TotalMilliseconds);
        _lateness[WakeUpLateness.BucketOf(ms)]++;
        if (ms > _maxLatenessMs) _maxLatenessMs = ms;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
