namespace DigitalPost.Contracts;

// Notifications of new post (advisering): a citizen who chose to be told gets an e-mail and/or an SMS when a letter
// lands in the Digital Post mailbox, at most one per channel per window.

[GenerateSerializer, Alias("dp.NotificationChannel")]
public enum NotificationChannel
{
    Email,
    Sms,
}

/// <summary>Takes the letters that landed in citizens' mailboxes since its last sweep, on the platform's clock, and
/// queues their notifications. Woken by the durable schedule; one activation in the cluster.</summary>
[Alias("dp.INotifierGrain")]
public interface INotifierGrain : IGrainWithIntegerKey, IWakeUpTarget
{
    /// <summary>Makes sure the next sweep is scheduled (the wake-ups then chain themselves); whatever appends letters to
    /// the mailboxes calls it first.</summary>
    [Alias("Start")] Task Start();

    [Alias("GetStatus")] Task<NotificationStatus> GetStatus();
}

/// <summary>Drains one channel's notification outbox (key: the channel's name) in batches, with retries and back-off.</summary>
[Alias("dp.INotificationSenderGrain")]
public interface INotificationSenderGrain : IGrainWithStringKey
{
    /// <summary>Starts sending what is due, unless a drain is under way; returns at once.</summary>
    [Alias("Kick")] Task Kick();
}

/// <summary>One channel's outbox: <see cref="Waiting"/> not sent yet (of which <see cref="Deferred"/> wait for their
/// window, and <see cref="Retrying"/> failed before), <see cref="Sent"/> sent and still kept (a window's worth),
/// <see cref="SentTotal"/> sent in all; <see cref="LastError"/> of a waiting notification that failed.</summary>
[GenerateSerializer, Immutable, Alias("dp.NotificationChannelCounts")]
public sealed record NotificationChannelCounts(
    [property: Id(0)] NotificationChannel Channel,
    [property: Id(1)] long Waiting,
    [property: Id(2)] long Deferred,
    [property: Id(3)] long Retrying,
    [property: Id(4)] long Sent,
    [property: Id(5)] long SentTotal,
    [property: Id(6)] DateTimeOffset? LastSentAt,
    [property: Id(7)] string? LastError);

/// <summary>The notifications as <c>GET /api/notifications</c> shows them: when the notifier last swept, how many it
/// queued in all, and each channel's outbox.</summary>
[GenerateSerializer, Immutable, Alias("dp.NotificationStatus")]
public sealed record NotificationStatus(
    [property: Id(0)] DateTimeOffset? LastSweepAt,
    [property: Id(1)] long Queued,
    [property: Id(2)] IReadOnlyList<NotificationChannelCounts> Channels);
