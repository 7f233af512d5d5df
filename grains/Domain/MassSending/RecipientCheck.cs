using DigitalPost.Contracts;

namespace DigitalPost.Domain.MassSending;

/// <summary>Why a letter was returned to its sender, and what the sender can do about it (seed 002).</summary>
public sealed record ReturnReason(string Code, string Text, string Remedy);

/// <summary>The outcome of the recipient check: the channel the letter takes, or why it goes back to the sender.</summary>
public sealed record ChannelDecision(DeliveryChannel? Channel, ReturnReason? Returned)
{
    public static ChannelDecision Send(DeliveryChannel channel) => new(channel, null);
    public static ChannelDecision Return(string code, string text, string remedy) => new(null, new ReturnReason(code, text, remedy));
}

/// <summary>The recipient check before sending: given what the registry knows and the sender's channel choice,
/// how the letter travels. Digital Post needs an active mailbox; physical post needs a known address.</summary>
public static class RecipientCheck
{
    public static ChannelDecision Decide(RecipientInfo recipient, ChannelChoice choice)
    {
        var who = recipient.Kind == RecipientKind.Cpr ? "CPR" : "CVR";
        if (recipient.Verdict == RecipientVerdict.Unknown)
            return ChannelDecision.Return("UNKNOWN_RECIPIENT",
                $"the {who} number is not known as a Digital Post recipient",
                $"check the {who} number; if it is right, send the letter by physical post to the recipient's address");

        var hasMailbox = recipient.Verdict == RecipientVerdict.DigitalPost;
        // A closed mailbox means the person died or emigrated: the address on record cannot be trusted either.
        if (recipient.Status == RegistrationStatus.Closed && choice != ChannelChoice.NemSms) return Closed();
        var canPrint = recipient.Address.Count > 0;
        return choice switch
        {
            ChannelChoice.Automatic when hasMailbox => ChannelDecision.Send(DeliveryChannel.DigitalPost),
            ChannelChoice.Automatic or ChannelChoice.PhysicalPost when canPrint => ChannelDecision.Send(DeliveryChannel.PhysicalPost),
            ChannelChoice.Automatic or ChannelChoice.PhysicalPost => ChannelDecision.Return("NO_ADDRESS",
                "the recipient has no postal address on record",
                "find the recipient's current address and send the letter outside the platform"),
            ChannelChoice.DigitalPost when hasMailbox => ChannelDecision.Send(DeliveryChannel.DigitalPost),
            ChannelChoice.DigitalPost => NotRegistered(recipient),
            ChannelChoice.NemSms when recipient.Kind == RecipientKind.Cpr && recipient.NemSms && hasMailbox => ChannelDecision.Send(DeliveryChannel.NemSms),
            ChannelChoice.NemSms => ChannelDecision.Return("NO_NEMSMS",
                recipient.Kind != RecipientKind.Cpr ? "NemSMS reaches citizens only"
                    : !recipient.NemSms ? "the citizen does not subscribe to NemSMS"
                    : "the citizen subscribes to NemSMS, but NemSMS needs an active Digital Post mailbox, which the citizen does not have",
                "send the letter as Digital Post or by physical post (channel choice Automatic)"),
            _ => throw new ArgumentOutOfRangeException(nameof(choice), choice, null),
        };
    }

    private static ChannelDecision Closed() => ChannelDecision.Return("MAILBOX_CLOSED",
        "the recipient's Digital Post mailbox is closed (for example the recipient died or emigrated)",
        "check the recipient in the CPR/CVR register before sending the letter another way");

    private static ChannelDecision NotRegistered(RecipientInfo recipient) => recipient.Status switch
    {
        RegistrationStatus.Exempt => ChannelDecision.Return("NOT_REGISTERED",
            "the recipient is exempt from Digital Post (fritaget)", "send the letter by physical post (channel choice Automatic or PhysicalPost)"),
        RegistrationStatus.NotYetConfirmed => ChannelDecision.Return("NOT_REGISTERED",
            "the recipient's Digital Post mailbox is not active yet (for example within about 30 days of turning 15)",
            "send the letter by physical post now, or again later once the mailbox is active"),
        _ => ChannelDecision.Return("NOT_REGISTERED",
            "the company's Digital Post mailbox is not active", "send the letter by physical post (channel choice Automatic or PhysicalPost)"),
    };
}
