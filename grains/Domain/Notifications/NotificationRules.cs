using DigitalPost.Contracts;

namespace DigitalPost.Domain.Notifications;

/// <summary>A notification the notifier queues: for the citizen, on the channel, to the address, sent from
/// <see cref="Due"/> on. Citizen, channel and due time are its idempotency key: a sweep repeated after a crash queues
/// nothing twice.</summary>
public sealed record PlannedNotification(string Cpr, NotificationChannel Channel, string Address, DateTimeOffset Due);

/// <summary>The rule of notifications (advisering): at most one per citizen per channel per window, whatever the number
/// of letters, and none lost. A letter that lands before the citizen's last notification is sent is told by that one;
/// a letter that lands after it is told by the next, which is due once the window since the last one has passed.</summary>
public static class NotificationWindow
{
    /// <summary>When the citizen's next notification on a channel is due, for letters of which the latest landed at
    /// <paramref name="landedAt"/>; null when the last notification (due <paramref name="lastDue"/>, sent then or
    /// later) tells of them already. A letter that landed the instant the last one was due may have landed just after
    /// it was sent, so it gets the next one: at worst one more notification, never a letter untold.</summary>
    public static DateTimeOffset? Due(DateTimeOffset? lastDue, DateTimeOffset landedAt, DateTimeOffset now, TimeSpan window) =>
        lastDue is { } last && last > landedAt ? null : Max(now, lastDue is { } l ? l + window : now);

    /// <summary>The notifications a sweep queues for the letters that landed since the last one: per citizen the
    /// latest letter, per channel the citizen chose.</summary>
    public static IReadOnlyList<PlannedNotification> Plan(IEnumerable<(string Cpr, DateTimeOffset At)> landed,
        Func<string, (string? Email, string? Mobile)?> choices, Func<string, NotificationChannel, DateTimeOffset?> lastDue, DateTimeOffset now, TimeSpan window)
    {
        var planned = new List<PlannedNotification>();
        foreach (var citizen in landed.GroupBy(l => l.Cpr, StringComparer.Ordinal))
        {
            if (choices(citizen.Key) is not var (email, mobile)) continue;
            var latest = citizen.Max(l => l.At);
            foreach (var (channel, address) in new[] { (NotificationChannel.Email, email), (NotificationChannel.Sms, mobile) })
                if (address is not null && Due(lastDue(citizen.Key, channel), latest, now, window) is { } due)
                    planned.Add(new PlannedNotification(citizen.Key, channel, address, due));
        }
        return planned;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}

/// <summary>How long a notification that failed to go out waits before the next attempt: doubling from the first
/// retry up to the longest.</summary>
public static class NotificationBackoff
{
    public static TimeSpan After(int attempts, TimeSpan first, TimeSpan max) =>
        attempts <= 1 ? first : TimeSpan.FromTicks((long)Math.Min(max.Ticks, first.Ticks * Math.Pow(2, Math.Min(attempts - 1, 30))));
}

/// <summary>The words of a notification. They say only that there is new post: no CPR number, sender or title, as an
/// e-mail or SMS can be read by others than the citizen.</summary>
public static class NotificationText
{
    public const string EmailSubject = "Du har fået ny post i Digital Post";

    public const string EmailBody =
        "Du har fået ny post i din digitale postkasse.\n\n" +
        "Læs den på borger.dk eller i appen Digital Post.\n\n" +
        "Du får denne besked, fordi du har valgt at få besked om ny post. Der kommer højst én besked ad gangen, " +
        "selv om der kommer flere breve. Svar ikke på denne e-mail.";

    public const string Sms = "Du har fået ny post i Digital Post. Læs den på borger.dk eller i appen Digital Post.";
}

/// <summary>The addresses a citizen may choose to be notified at, as the registry file gives them.</summary>
public static class NotificationAddress
{
    /// <summary>The e-mail address, trimmed, or the reason it is none.</summary>
    public static (string? Address, string? Error) Email(string value)
    {
        var email = value.Trim();
        var at = email.IndexOf('@');
        if (email.Length > 254 || at <= 0 || at != email.LastIndexOf('@') || at == email.Length - 1 || email.Any(char.IsWhiteSpace) ||
            !email[(at + 1)..].Contains('.') || email.EndsWith('.') || email.Any(c => c is '<' or '>' or ',' or ';' or '"' or '(' or ')'))
            return (null, "is not an e-mail address (name@domain.dk)");
        return (email, null);
    }

    /// <summary>The mobile number in E.164 form (a Danish number of 8 digits gets +45), or the reason it is none.</summary>
    public static (string? Number, string? Error) Mobile(string value)
    {
        var digits = new string([.. value.Where(c => c is not (' ' or '-' or '.' or '(' or ')'))]);
        if (digits.StartsWith("00", StringComparison.Ordinal)) digits = "+" + digits[2..];
        if (digits.Length == 8 && digits.All(char.IsAsciiDigit)) return ("+45" + digits, null);
        if (digits.Length is >= 9 and <= 16 && digits[0] == '+' && digits[1..].All(char.IsAsciiDigit) && digits[1] != '0') return (digits, null);
        return (null, "is not a mobile number (8 digits, or + and the country code)");
    }
}
