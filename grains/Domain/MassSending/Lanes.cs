using DigitalPost.Contracts;

namespace DigitalPost.Domain.MassSending;

/// <summary>Which lane moves a batch's letter, once the recipient check has chosen its channel.</summary>
public static class Lanes
{
    /// <summary>The lane that takes a letter in bulk to a citizen, or <see cref="LetterLane.MessageGrain"/> when its
    /// message grain must: physical post (print has a life of its own), a letter waiting for its valør date, or one the
    /// sender asked to deliver one by one. Organisations' letters go in bulk where a receiver system takes them, which
    /// only routing can tell.</summary>
    public static LetterLane ToCitizen(DeliveryChannel channel, RecipientKind kind, bool perMessageDelivery, bool waitsForValoer) =>
        perMessageDelivery || waitsForValoer || kind != RecipientKind.Cpr ? LetterLane.MessageGrain
        : channel switch
        {
            DeliveryChannel.DigitalPost => LetterLane.CitizenMailbox,
            DeliveryChannel.NemSms => LetterLane.NemSms,
            _ => LetterLane.MessageGrain,
        };

    /// <summary>The final state a citizen's lane gives a letter once the letter is there.</summary>
    public static LetterState Final(LetterLane lane) => lane switch
    {
        LetterLane.CitizenMailbox => LetterState.Delivered,
        LetterLane.NemSms => LetterState.SentAsNemSms,
        _ => throw new ArgumentOutOfRangeException(nameof(lane), lane, "not a citizen's lane"),
    };
}
