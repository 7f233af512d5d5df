using DigitalPost.Contracts;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace DigitalPost.Infrastructure;

public interface IEmailSender
{
    /// <summary>Sends the e-mails in order over one connection, calling <paramref name="sent"/> after each one;
    /// throws at the first that fails.</summary>
    Task Send(IReadOnlyList<OutboxEmail> emails, Action<OutboxEmail> sent, CancellationToken cancellationToken);
}

/// <summary>Sends through SMTP with MailKit, or, with no host configured, drops .eml files into a pickup directory.
/// The Message-ID is derived from the outbox id, so a resend after a crash is recognisable as the same e-mail.</summary>
public sealed class MailKitEmailSender(IOptions<SmtpOptions> options) : IEmailSender
{
    public async Task Send(IReadOnlyList<OutboxEmail> emails, Action<OutboxEmail> sent, CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (string.IsNullOrWhiteSpace(o.Host))
        {
            Directory.CreateDirectory(o.PickupDirectory);
            foreach (var email in emails)
            {
                var file = Path.Combine(o.PickupDirectory, $"{string.Concat(email.Id.Split(Path.GetInvalidFileNameChars()))}.eml");
                await ToMime(email, o.From).WriteToAsync(file, cancellationToken);
                sent(email);
            }
            return;
        }

        using var client = await Smtp.Connect(o, cancellationToken);
        foreach (var email in emails)
        {
            await client.SendAsync(ToMime(email, o.From), cancellationToken);
            sent(email);
        }
        await client.DisconnectAsync(true, cancellationToken);
    }

    private static MimeMessage ToMime(OutboxEmail email, string from)
    {
        var message = new MimeMessage
        {
            Subject = email.Subject,
            Body = new TextPart("plain") { Text = email.Body },
            Date = email.CreatedAt,
            MessageId = $"{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(email.Id)))[..32]}@digitalpost.local",
        };
        message.From.Add(MailboxAddress.Parse(from));
        foreach (var to in email.To) message.To.Add(MailboxAddress.Parse(to));
        message.Headers.Add("X-DigitalPost-Notice", email.Id);
        return message;
    }
}

/// <summary>A connection to the platform's SMTP server, as every sender of e-mail opens it.</summary>
public static class Smtp
{
    public static async Task<SmtpClient> Connect(SmtpOptions options, CancellationToken cancellationToken)
    {
        var client = new SmtpClient();
        try
        {
            await client.ConnectAsync(options.Host ?? throw new InvalidOperationException("Smtp:Host is not set"), options.Port, options.StartTls ? SecureSocketOptions.StartTls : SecureSocketOptions.None, cancellationToken);
            if (!string.IsNullOrEmpty(options.Username)) await client.AuthenticateAsync(options.Username, options.Password ?? "", cancellationToken);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }
}
