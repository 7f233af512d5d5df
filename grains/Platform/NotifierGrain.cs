using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

/// <summary>Notifications of new post (advisering), on the platform's clock: each wake-up schedules the next (at the
/// next multiple of <see cref="NotificationOptions.Interval"/>, so every start and every wake-up name the same one and
/// the chain never doubles), then sweeps in the background: the store queues the notifications of the letters
/// appended since the last sweep in one step, and the channels' senders are told to send what is due. A sweep runs
/// at a time; one that fails is simply the next one's work, as the watermark did not move.</summary>
[Reentrant]
public sealed class NotifierGrain(INotificationStore store, TimeProvider time, WakeUps wakeUps, IOptions<NotificationOptions> options,
    ILogger<NotifierGrain> log) : Grain, INotifierGrain
{
    private Task _sweeping = Task.CompletedTask;
    private bool _again;

    public Task Start() => ScheduleNext();

    public async Task WakeUp()
    {
        await ScheduleNext();
        // Not awaited: a sweep of a million letters outlasts the scheduler's call. A wake-up during a sweep has
        // another follow it, so letters appended meanwhile do not wait a whole interval.
        if (_sweeping.IsCompleted) _sweeping = Sweeps();
        else _again = true;
    }

    private async Task Sweeps()
    {
        do
        {
            _again = false;
            await Sweep();
        } while (_again);
    }

    public async Task<NotificationStatus> GetStatus() => await store.Status(time.GetUtcNow());

    private Task ScheduleNext()
    {
        var interval = options.Value.Interval.Ticks;
        var next = new DateTimeOffset((time.GetUtcNow().UtcTicks / interval + 1) * interval, TimeSpan.Zero);
        return wakeUps.Schedule(this.GetGrainId(), next);
    }

    private async Task Sweep()
    {
        var now = time.GetUtcNow();
        var window = options.Value.Window;
        try
        {
            var queued = await store.Sweep(now, window);
            if (queued > 0) log.LogInformation("Queued {Count} notifications of new post", queued);
            await store.Forget(now - window);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "The sweep for notifications of new post failed; the next sweep takes its letters");
        }
        // Also when nothing was queued: notifications deferred to their window's end, or waiting for a retry, come due.
        await Task.WhenAll(Enum.GetValues<NotificationChannel>().Select(channel => GrainFactory.GetGrain<INotificationSenderGrain>(channel.ToString()).Kick()));
    }
}
