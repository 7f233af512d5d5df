using System.Net.Http.Json;
using DigitalPost.Contracts;
using DigitalPost.Domain.Notifications;
using MailKit.Net.Smtp;
using Microsoft.Extensions.Options;
using MimeKit;

namespace DigitalPost.Infrastructure;

/// <summary>Notifications of new post (advisering): the notifier's rhythm and window, and the senders' batches and back-off.</summary>
public sealed class NotificationOptions
{
    public const string Section = "Notifications";

    /// <summary>How often the notifier takes the letters that landed since its last sweep: the bound on how late a
    /// notification is queued.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>At most one notification per citizen per channel in this long.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Notifications a sender takes from its outbox at a time.</summary>
    public int BatchSize { get; set; } = 1000;

    /// <summary>SMTP connections an e-mail batch is sent over at once.</summary>
    public int EmailConnections { get; set; } = 4;

    /// <summary>A failed notification waits this long, doubling with each failure up to <see cref="MaxRetry"/>.</summary>
    public TimeSpan FirstRetry { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan MaxRetry { get; set; } = TimeSpan.FromMinutes(30);

    public SmsProviderOptions Sms { get; set; } = new();
}

/// <summary>The SMS provider: an HTTP endpoint that takes a batch of messages as JSON, each with an idempotency key.</summary>
public sealed class SmsProviderOptions
{
    /// <summary>Where batches are posted. None: SMS notifications wait in their outbox, failing, until one is set.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Messages per request.</summary>
    public int PerRequest { get; set; } = 500;

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The sender name the citizen's phone shows.</summary>
    public string From { get; set; } = "DigitalPost";
}

/// <summary>A channel's way out: sends a batch, calling <paramref name="sent"/> for each notification the other side
/// took, and throws at the first failure.</summary>
public interface INotificationTransport
{
    NotificationChannel Channel { get; }

    Task Send(IReadOnlyList<QueuedNotification> batch, Action<QueuedNotification> sent, CancellationToken cancellationToken);
}

/// <summary>E-mail over the platform's SMTP server (<see cref="SmtpOptions"/>), MailKit, over a few connections at once;
/// with no SMTP host, .eml files in the pickup directory. The Message-ID is derived from the notification's id, so a
/// resend after a crash between "sent" and "stored as sent" is recognisable as the same e-mail.</summary>
public sealed class EmailNotificationTransport(IOptions<SmtpOptions> smtp, IOptions<NotificationOptions> options) : INotificationTransport
{
    public NotificationChannel Channel => NotificationChannel.Email;

    public async Task Send(IReadOnlyList<QueuedNotification> batch, Action<QueuedNotification> sent, CancellationToken cancellationToken)
    {
        var o = smtp.Value;
        if (string.IsNullOrWhiteSpace(o.Host))
        {
            Directory.CreateDirectory(o.PickupDirectory);
            foreach (var notification in batch)
            {
                await ToMime(notification, o.From).WriteToAsync(Path.Combine(o.PickupDirectory, $"notification-{notification.Id}.eml"), cancellationToken);
                sent(notification);
            }
            return;
        }
        var connections = Math.Clamp(options.Value.EmailConnections, 1, Math.Max(1, batch.Count));
        var share = (batch.Count + connections - 1) / connections;
        var gate = new Lock();
        await Task.WhenAll(batch.Chunk(share).Select(async part =>
        {
            using var client = await Smtp.Connect(o, cancellationToken);
            foreach (var notification in part)
            {
                await client.SendAsync(ToMime(notification, o.From), cancellationToken);
                lock (gate) sent(notification);
            }
            await client.DisconnectAsync(true, cancellationToken);
        }));
    }

    private static MimeMessage ToMime(QueuedNotification notification, string from)
    {
        var message = new MimeMessage
        {
            Subject = NotificationText.EmailSubject,
            Body = new TextPart("plain") { Text = NotificationText.EmailBody },
            Date = notification.Due,
            MessageId = $"notification-{notification.Id}@digitalpost.local",
        };
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(notification.Address));
        message.Headers.Add("X-DigitalPost-Notification", notification.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return message;
    }
}

/// <summary>One SMS as the provider takes it: <see cref="Id"/> is the idempotency key, so a batch posted again after a
/// crash is not sent twice.</summary>
public sealed record SmsMessage(string Id, string From, string To, string Text);

public sealed record SmsBatch(IReadOnlyList<SmsMessage> Messages);

/// <summary>SMS through the provider's HTTP endpoint (<see cref="SmsProviderOptions"/>), a request per
/// <see cref="SmsProviderOptions.PerRequest"/> messages; any answer but 2xx fails the rest of the batch.</summary>
public sealed class SmsNotificationTransport(IHttpClientFactory http, IOptions<NotificationOptions> options) : INotificationTransport
{
    public const string Client = "sms-provider";

    public NotificationChannel Channel => NotificationChannel.Sms;

    public static string IdempotencyKey(long id) => $"dp-notification-{id}";

    public async Task Send(IReadOnlyList<QueuedNotification> batch, Action<QueuedNotification> sent, CancellationToken cancellationToken)
    {
        var sms = options.Value.Sms;
        if (sms.Endpoint is null) throw new InvalidOperationException("No SMS provider is configured (Notifications:Sms:Endpoint).");
        using var client = http.CreateClient(Client);
        client.Timeout = sms.Timeout;
        foreach (var part in batch.Chunk(Math.Max(1, sms.PerRequest)))
        {
            var body = new SmsBatch([.. part.Select(n => new SmsMessage(IdempotencyKey(n.Id), sms.From, n.Address, NotificationText.Sms))]);
            using var response = await client.PostAsJsonAsync(sms.Endpoint, body, PlatformJson.Options, cancellationToken);
            if (!response.IsSuccessStatusCode)
                throw new HttpRequestException($"The SMS provider answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
            foreach (var n in part) sent(n);
        }
    }
}
