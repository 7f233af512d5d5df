using System.Globalization;
using DigitalPost.Contracts;

namespace DigitalPost.Domain;

/// <summary>The warning, forwarding and deactivation e-mails (advarselsmails) to a receiver system's technical and
/// business contacts, in Danish as the national solution sends them. The warnings of day 2 and day 5 and the
/// forwarding of day 7 are grouped: one e-mail per kind and day lists every message (<see cref="WarningDigest"/>).</summary>
public static class ContactEmails
{
    /// <summary>A change of the system itself: deactivated or reactivated.</summary>
    public static OutboxEmail Compose(string cvr, ReceiverSystemRegistration system, ContactNotice notice)
    {
        var systemName = SystemName(cvr, system);
        var (subject, lead) = notice.Kind switch
        {
            ContactNoticeKind.Deactivated => ($"Digital Post: {systemName} er deaktiveret",
                $"{Capitalised(systemName)} er deaktiveret: det har ikke returneret en eneste positiv forretningskvittering i perioden. Post til systemet afleveres nu til primærmodtagersystemet eller Virk-postkassen, indtil systemet genaktiveres."),
            ContactNoticeKind.Reactivated => ($"Digital Post: {systemName} er genaktiveret",
                $"{Capitalised(systemName)} er genaktiveret og modtager igen post."),
            _ => throw new ArgumentOutOfRangeException(nameof(notice), notice.Kind, "a notice about a message is sent grouped (Digest)"),
        };

        var body = string.Join("\n",
            lead,
            "",
            $"Hændelse: {notice.Kind}",
            $"Tidspunkt: {Utc(notice.At)}",
            Describe(system),
            $"Detaljer: {notice.Detail}",
            "",
            Footer);

        return new OutboxEmail(IdOf(cvr, system.SystemId, notice), To(system), subject, body, notice.At);
    }

    private static string Describe(ReceiverSystemRegistration system) =>
        system.Endpoint is { } endpoint ? $"Modtagersystem: {system.SystemId}, endepunkt {endpoint}" : $"Modtagersystem: {system.SystemId} (henter selv sin post)";

    /// <summary>The e-mail of one kind and day: every message that reached day 2, day 5 or day 7 on that day, each with
    /// when and why.</summary>
    public static OutboxEmail Digest(string cvr, ReceiverSystemRegistration system, NoticeGroup group, NoticeDays days, DateTimeOffset now)
    {
        var systemName = SystemName(cvr, system);
        var count = group.Notices.Count;
        var messages = count == 1 ? "1 meddelelse" : $"{count} meddelelser";
        var (subject, lead) = group.Kind switch
        {
            ContactNoticeKind.FirstWarning => ($"Digital Post: {messages} kan ikke afleveres til {systemName} (dag 2)",
                $"Digital Post har i to dage forgæves forsøgt at aflevere {Listed(count)} til {systemName}. Løsningen gensender fortsat."),
            ContactNoticeKind.SecondWarning => ($"Digital Post: {messages} kan stadig ikke afleveres til {systemName} (dag 5)",
                $"Digital Post har i fem dage forgæves forsøgt at aflevere {Listed(count)} til {systemName}. Lykkes det ikke inden dag 7, fremsendes de til primærmodtagersystemet eller Virk-postkassen."),
            ContactNoticeKind.Forwarded => ($"Digital Post: {messages} fremsendt fra {systemName} (dag 7)",
                $"Digital Post kunne ikke aflevere {Listed(count)} til {systemName} i syv dage. De er fremsendt."),
            _ => throw new ArgumentOutOfRangeException(nameof(group), group.Kind, "a notice about the system itself is not grouped"),
        };

        var body = string.Join("\n", [
            lead,
            "",
            $"Hændelse: {group.Kind}",
            $"Periode: {Utc(days.StartOf(group.Day))} til {Utc(days.EndOf(group.Day))}",
            Describe(system),
            $"Meddelelser (messageUUID, tidspunkt, detaljer): {count}",
            .. group.Notices.Select(n => $"- {n.MessageUuid} {Utc(n.At)}: {n.Detail}"),
            "",
            Footer]);

        return new OutboxEmail(DigestIdOf(cvr, system.SystemId, group.Kind, group.Day), To(system), subject, body, now);
    }

    /// <summary>The idempotency key of a change of the system: once per moment.</summary>
    public static string IdOf(string cvr, string systemId, ContactNotice notice) =>
        $"{notice.Kind}:{ReceiverSystemKey.Of(cvr, systemId)}:{notice.At.UtcTicks}";

    /// <summary>The idempotency key of a grouped e-mail: once per system, kind and day, so a grouping step repeated
    /// after a crash sends nothing twice.</summary>
    public static string DigestIdOf(string cvr, string systemId, ContactNoticeKind kind, long day) =>
        $"{kind}:{ReceiverSystemKey.Of(cvr, systemId)}:day:{day}";

    private const string Footer = "Denne e-mail sendes til modtagersystemets tekniske kontaktperson og forretningskontakt.";

    private static List<string> To(ReceiverSystemRegistration system)
    {
        var to = new List<string> { system.TechnicalContact };
        if (system.BusinessContact is { } business && !to.Contains(business, StringComparer.OrdinalIgnoreCase)) to.Add(business);
        return to;
    }

    private static string SystemName(string cvr, ReceiverSystemRegistration system) => $"modtagersystem {system.SystemId} (CVR {cvr})";

    private static string Listed(int count) => count == 1 ? "meddelelsen nedenfor" : $"de {count} meddelelser nedenfor";

    private static string Utc(DateTimeOffset at) => $"{at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC";

    private static string Capitalised(string s) => char.ToUpperInvariant(s[0]) + s[1..];
}
