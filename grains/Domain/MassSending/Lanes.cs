using DigitalPost.Contracts;

namespace DigitalPost.Domain.MassSending;

/// <summary>Which lane moves a batch's letter, once the recipient check has chosen its channel.</summary>
public static class Lanes
{
    /// <summary>The lane that takes a letter in bulk outside receiver systems, or <see cref="LetterLane.MessageGrain"/>
    /// when its message grain must: a letter waiting for its valør date, or one the sender asked to deliver one by one.
    /// Organisations' Digital Post goes in bulk where a receiver system takes it, which only routing can tell.</summary>
    public static LetterLane Of(DeliveryChannel channel, RecipientKind kind, bool perMessageDelivery, bool waitsForValoer) =>
        perMessageDelivery || waitsForValoer ? LetterLane.MessageGrain
        : channel switch
        {
            DeliveryChannel.DigitalPost when kind == RecipientKind.Cpr => LetterLane.CitizenMailbox,
            DeliveryChannel.NemSms => LetterLane.NemSms,
            DeliveryChannel.PhysicalPost => LetterLane.Print,
            _ => LetterLane.MessageGrain,
        };

    /// <summary>The state a letter is in once its lane has it: delivered in a citizen's mailbox, sent as NemSMS, or sent
    /// to print (the print provider moves it on).</summary>
    public static LetterState Entered(LetterLane lane) => lane switch
    {
        LetterLane.CitizenMailbox => LetterState.Delivered,
        LetterLane.NemSms => LetterState.SentAsNemSms,
        LetterLane.Print => LetterState.SentToPrint,
        _ => throw new ArgumentOutOfRangeException(nameof(lane), lane, "not a lane a batch enters letters in"),
    };
}
