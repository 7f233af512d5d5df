using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Domain.Notifications;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

/// <summary>Sends one channel's notifications (key: the channel's name) from the outbox in batches. A notification
/// is marked sent once its provider took it; a batch that fails is tried again after a back-off
/// (<see cref="NotificationBackoff"/>). The notifier kicks it every sweep, so a silo that died mid-batch only delays
/// the batch; a notification the provider took just before such a crash goes again with the same idempotency key.</summary>
[Reentrant]
public sealed class NotificationSenderGrain(INotificationStore store, IEnumerable<INotificationTransport> transports, TimeProvider time,
    IOptions<NotificationOptions> options, ILogger<NotificationSenderGrain> log) : Grain, INotificationSenderGrain
{
    private Task _draining = Task.CompletedTask;
    private bool _again;

    public Task Kick()
    {
        // A kick during a drain may bring notifications that came due after its last read: it drains once more.
        if (_draining.IsCompleted) _draining = Drains();
        else _again = true;
        return Task.CompletedTask;
    }

    private async Task Drains()
    {
        do
        {
            _again = false;
            if (!await Drain()) return;
        } while (_again);
    }

    /// <summary>Sends what is due; false when a batch failed (its notifications wait for their back-off).</summary>
    private async Task<bool> Drain()
    {
        var channel = Enum.Parse<NotificationChannel>(this.GetPrimaryKeyString(), ignoreCase: true);
        var transport = transports.Single(t => t.Channel == channel);
        var o = options.Value;
        try
        {
            while (true)
            {
                var now = time.GetUtcNow();
                var due = await store.Due(channel, now, o.BatchSize);
                if (due.Count == 0) return true;
                var sent = new List<long>(due.Count);
                Exception? failure = null;
                try { await transport.Send(due, n => sent.Add(n.Id), CancellationToken.None); }
                catch (Exception e) { failure = e; }
                if (sent.Count > 0) await store.Sent(channel, sent, now);
                if (failure is null) continue;

                var taken = sent.ToHashSet();
                var failed = due.Where(n => !taken.Contains(n.Id)).ToList();
                // Provider messages may quote what they were sent; the text has no CPR number, but be sure.
                var error = Cpr.Redact($"{failure.GetType().Name}: {failure.Message}");
                await store.Failed([.. failed.Select(n => (n.Id, now + NotificationBackoff.After(n.Attempts + 1, o.FirstRetry, o.MaxRetry)))], error);
                log.LogWarning("Sending {Count} {Channel} notifications failed ({Error}); each is tried again after its back-off", failed.Count, channel, error);
                return false;
            }
        }
        catch (Exception e)
        {
            log.LogWarning(e, "The {Channel} notification outbox could not be read or updated; the next sweep tries again", channel);
            return false;
        }
    }
}
