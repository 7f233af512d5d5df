using System.Globalization;
using DigitalPost.Contracts;

namespace DigitalPost.Domain;

/// <summary>The warning, forwarding and deactivation e-mails (advarselsmails) to a receiver system's technical and
/// business contacts, in Danish as the national solution sends them.</summary>
public static class ContactEmails
{
    public static OutboxEmail Compose(string cvr, ReceiverSystemRegistration system, ContactNotice notice)
    {
        var to = new List<string> { system.TechnicalContact };
        if (system.BusinessContact is { } business && !to.Contains(business, StringComparer.OrdinalIgnoreCase)) to.Add(business);

        var systemName = $"modtagersystem {system.SystemId} (CVR {cvr})";
        var message = notice.MessageUuid is { } uuid ? uuid.ToString() : null;
        var (subject, lead) = notice.Kind switch
        {
            ContactNoticeKind.FirstWarning => ($"Digital Post: meddelelse kan ikke afleveres til {systemName} (dag 2)",
                $"Digital Post har i to dage forgæves forsøgt at aflevere meddelelse {message} til {systemName}. Løsningen gensender fortsat."),
            ContactNoticeKind.SecondWarning => ($"Digital Post: meddelelse kan stadig ikke afleveres til {systemName} (dag 5)",
                $"Digital Post har i fem dage forgæves forsøgt at aflevere meddelelse {message} til {systemName}. Lykkes det ikke inden dag 7, fremsendes meddelelsen til primærmodtagersystemet eller Virk-postkassen."),
            ContactNoticeKind.Forwarded => ($"Digital Post: meddelelse fremsendt fra {systemName} (dag 7)",
                $"Digital Post kunne ikke aflevere meddelelse {message} til {systemName} i syv dage. Meddelelsen er fremsendt."),
            ContactNoticeKind.Deactivated => ($"Digital Post: {systemName} er deaktiveret",
                $"{Capitalised(systemName)} er deaktiveret: det har ikke returneret en eneste positiv forretningskvittering i perioden. Post til systemet afleveres nu til primærmodtagersystemet eller Virk-postkassen, indtil systemet genaktiveres."),
            ContactNoticeKind.Reactivated => ($"Digital Post: {systemName} er genaktiveret",
                $"{Capitalised(systemName)} er genaktiveret og modtager igen post."),
            _ => throw new ArgumentOutOfRangeException(nameof(notice), notice.Kind, null),
        };

        var body = string.Join("\n",
            lead,
            "",
            $"Hændelse: {notice.Kind}",
            $"Tidspunkt: {notice.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC",
            $"Modtagersystem: {system.SystemId}, endepunkt {system.Endpoint}",
            message is null ? "" : $"Meddelelse (messageUUID): {message}",
            $"Detaljer: {notice.Detail}",
            "",
            "Denne e-mail sendes til modtagersystemets tekniske kontaktperson og forretningskontakt.");

        return new OutboxEmail(IdOf(cvr, system.SystemId, notice), to, subject, body, notice.At);
    }

    /// <summary>The idempotency key: a notice about a message is sent once per kind; a state change once per moment.</summary>
    public static string IdOf(string cvr, string systemId, ContactNotice notice) =>
        notice.MessageUuid is { } uuid
            ? $"{notice.Kind}:{ReceiverSystemKey.Of(cvr, systemId)}:{uuid:N}"
            : $"{notice.Kind}:{ReceiverSystemKey.Of(cvr, systemId)}:{notice.At.UtcTicks}";

    private static string Capitalised(string s) => char.ToUpperInvariant(s[0]) + s[1..];
}
