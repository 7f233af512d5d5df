using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DigitalPost.Infrastructure;

/// <summary>Brings back, within seconds, the scheduler shards that died with a silo. Orleans reactivates a grain only
/// when something calls it, and a shard's keep-alive reminder comes at most once a minute (later still while the
/// cluster takes over the dead silo's reminders), so without this the wake-ups a dead silo's shards hold would wait.
/// Resuming every shard is the call (it reads nothing while nothing is due); every silo does it, so no single silo is
/// needed for it.</summary>
public sealed class SchedulerWatchdog(WakeUps wakeUps, IOptions<SchedulerOptions> options, ILogger<SchedulerWatchdog> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.WatchInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try { await wakeUps.ResumeAll(); }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // A shard on a silo that is dying but not yet declared dead: the next round reaches its new activation.
                log.LogDebug(e, "A scheduler shard did not answer; asked again in {Interval}", options.Value.WatchInterval);
            }
        }
    }
}
