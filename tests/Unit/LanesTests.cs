using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;

namespace DigitalPost.Tests.Unit;

public sealed class LanesTests
{
    [Theory]
    [InlineData(DeliveryChannel.DigitalPost, RecipientKind.Cpr, false, false, LetterLane.CitizenMailbox)]
    [InlineData(DeliveryChannel.NemSms, RecipientKind.Cpr, false, false, LetterLane.NemSms)]
    // Print has a life of its own (printed, handed to the postal service): its message grain follows it.
    [InlineData(DeliveryChannel.PhysicalPost, RecipientKind.Cpr, false, false, LetterLane.MessageGrain)]
    // Organisations' letters go in bulk only where routing finds a receiver system, which this rule cannot know.
    [InlineData(DeliveryChannel.DigitalPost, RecipientKind.Cvr, false, false, LetterLane.MessageGrain)]
    [InlineData(DeliveryChannel.DigitalPost, RecipientKind.Cpr, true, false, LetterLane.MessageGrain)]
    [InlineData(DeliveryChannel.DigitalPost, RecipientKind.Cpr, false, true, LetterLane.MessageGrain)]
    [InlineData(DeliveryChannel.NemSms, RecipientKind.Cpr, false, true, LetterLane.MessageGrain)]
    public void A_citizens_letter_goes_in_bulk_unless_it_needs_a_life_of_its_own(DeliveryChannel channel, RecipientKind kind, bool perMessage, bool waitsForValoer, LetterLane expected)
    {
        Assert.Equal(expected, Lanes.ToCitizen(channel, kind, perMessage, waitsForValoer));
    }

    [Fact]
    public void A_citizens_lane_finishes_a_letter_as_delivered_or_sent_as_nemsms()
    {
        Assert.Equal(LetterState.Delivered, Lanes.Final(LetterLane.CitizenMailbox));
        Assert.Equal(LetterState.SentAsNemSms, Lanes.Final(LetterLane.NemSms));
        Assert.Throws<ArgumentOutOfRangeException>(() => Lanes.Final(LetterLane.ReceiverSystem));
    }

    [Fact]
    public void A_letter_in_a_citizens_mailbox_shows_as_delivered_there_and_one_of_its_message_grain_shows_nothing_here()
    {
        var at = new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
        var letter = new LetterRecord { Row = 3, MessageUuid = Guid.NewGuid(), Kind = RecipientKind.Cpr, RecipientId = "0101801234",
            State = LetterState.Delivered, Lane = LetterLane.CitizenMailbox, PushedAt = at, DeliveredAt = at };

        var view = BulkLetterView.Of(letter, at.AddMinutes(-1))!;

        Assert.Equal((MessageStatus.Delivered, DeliveryTargetKind.CitizenMailbox), (view.Status, view.CurrentTarget!.Kind));
        Assert.Equal([MessageEventKind.Accepted, MessageEventKind.DeliveredToMailbox], view.History.Select(e => e.Kind));
        letter.Lane = LetterLane.MessageGrain;
        Assert.Null(BulkLetterView.Of(letter, at));
    }
}
