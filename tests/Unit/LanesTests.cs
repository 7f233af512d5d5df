using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;

namespace DigitalPost.Tests.Unit;

public sealed class LanesTests
{
    [Theory]
    [InlineData(DeliveryChannel.DigitalPost, RecipientKind.Cpr, false, false, LetterLane.CitizenMailbox)]
    [InlineData(DeliveryChannel.NemSms, RecipientKind.Cpr, false, false, LetterLane.NemSms)]
    [InlineData(DeliveryChannel.PhysicalPost, RecipientKind.Cpr, false, false, LetterLane.Print)]
    [InlineData(DeliveryChannel.PhysicalPost, RecipientKind.Cvr, false, false, LetterLane.Print)]
    // Organisations' Digital Post goes in bulk only where routing finds a receiver system, which this rule cannot know.
    [InlineData(DeliveryChannel.DigitalPost, RecipientKind.Cvr, false, false, LetterLane.MessageGrain)]
    [InlineData(DeliveryChannel.DigitalPost, RecipientKind.Cpr, true, false, LetterLane.MessageGrain)]
    [InlineData(DeliveryChannel.PhysicalPost, RecipientKind.Cpr, true, false, LetterLane.MessageGrain)]
    [InlineData(DeliveryChannel.DigitalPost, RecipientKind.Cpr, false, true, LetterLane.MessageGrain)]
    [InlineData(DeliveryChannel.NemSms, RecipientKind.Cpr, false, true, LetterLane.MessageGrain)]
    public void A_letter_goes_in_bulk_unless_it_needs_a_life_of_its_own(DeliveryChannel channel, RecipientKind kind, bool perMessage, bool waitsForValoer, LetterLane expected)
    {
        Assert.Equal(expected, Lanes.Of(channel, kind, perMessage, waitsForValoer));
    }

    [Fact]
    public void A_lane_takes_a_letter_to_delivered_sent_as_nemsms_or_sent_to_print()
    {
        Assert.Equal(LetterState.Delivered, Lanes.Entered(LetterLane.CitizenMailbox));
        Assert.Equal(LetterState.SentAsNemSms, Lanes.Entered(LetterLane.NemSms));
        Assert.Equal(LetterState.SentToPrint, Lanes.Entered(LetterLane.Print));
        Assert.Throws<ArgumentOutOfRangeException>(() => Lanes.Entered(LetterLane.ReceiverSystem));
    }

    [Theory]
    // The print provider moves a print-lane row while its batch may still store its own, older view of it.
    [InlineData(LetterState.Printed, LetterState.SentToPrint, 0, false)]
    [InlineData(LetterState.SentToPrint, LetterState.Printed, 0, true)]
    [InlineData(LetterState.HandedToPostalService, LetterState.Printed, 0, false)]
    [InlineData(LetterState.Delivered, LetterState.Queued, 0, false)]
    [InlineData(LetterState.Queued, LetterState.Failing, 0, true)]
    // A retry's new generation replaces whatever the last one ended in.
    [InlineData(LetterState.Returned, LetterState.Pending, 1, true)]
    public void A_stored_letter_is_replaced_only_by_a_view_that_is_not_older(LetterState stored, LetterState incoming, int newerGenerations, bool overwrites)
    {
        Assert.Equal(overwrites, LetterRows.Overwrites(stored, 0, incoming, newerGenerations));
    }

    [Theory]
    // Handed to its message grain: a bulk lane's view of the same generation, or an older one, is stale.
    [InlineData(LetterState.Queued, LetterLane.MessageGrain, LetterLane.ReceiverSystem, 0, true)]
    [InlineData(LetterState.Failing, LetterLane.MessageGrain, LetterLane.ReceiverSystem, 0, true)]
    [InlineData(LetterState.Queued, LetterLane.MessageGrain, LetterLane.MessageGrain, 0, false)]
    // A letter made but not yet sent has no owner yet: its batch puts it in a lane.
    [InlineData(LetterState.Pending, LetterLane.MessageGrain, LetterLane.ReceiverSystem, 0, false)]
    [InlineData(LetterState.Queued, LetterLane.ReceiverSystem, LetterLane.MessageGrain, 0, false)]
    // Returned by its batch before it had a message, then retried: no grain ever had it.
    [InlineData(LetterState.Returned, LetterLane.MessageGrain, LetterLane.CitizenMailbox, 0, false)]
    // A retry's new generation is a new letter: it may go in bulk again.
    [InlineData(LetterState.Failed, LetterLane.MessageGrain, LetterLane.ReceiverSystem, 1, false)]
    public void A_letter_handed_to_its_message_grain_is_never_taken_back_by_a_view_of_its_generation(LetterState stored, LetterLane storedLane,
        LetterLane incomingLane, int newerGenerations, bool takesBack)
    {
        Assert.Equal(takesBack, LetterRows.TakesBack(stored, storedLane, 0, incomingLane, newerGenerations));
    }

    [Fact]
    public void The_print_provider_moves_a_letter_only_on_from_an_earlier_print_step()
    {
        Assert.Equal([LetterState.SentToPrint], LetterRows.PrintStepsBefore(LetterState.Printed));
        Assert.Equal([LetterState.SentToPrint, LetterState.Printed], LetterRows.PrintStepsBefore(LetterState.HandedToPostalService));
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

    [Fact]
    public void A_print_lane_letter_shows_each_print_step_it_has_reached()
    {
        var at = new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
        var letter = new LetterRecord { MessageUuid = Guid.NewGuid(), RecipientId = "0101801234", State = LetterState.SentToPrint, Lane = LetterLane.Print, PushedAt = at };

        Assert.Equal([MessageEventKind.Accepted, MessageEventKind.SentToPrint], BulkLetterView.Of(letter, at)!.History.Select(e => e.Kind));
        (letter.State, letter.DeliveredAt) = (LetterState.HandedToPostalService, at.AddHours(6));
        var view = BulkLetterView.Of(letter, at)!;
        Assert.Equal((MessageStatus.HandedToPostalService, DeliveryTargetKind.RemotePrint), (view.Status, view.CurrentTarget!.Kind));
        Assert.Equal((MessageEventKind.HandedToPostalService, at.AddHours(6)), (view.History[^1].Kind, view.History[^1].At));
    }
}
