using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;

namespace DigitalPost.Tests.Unit;

/// <summary>The recipient check: which channel a letter takes, or which reason returns it to the sender.</summary>
public class MassSendingRecipientCheckTests
{
    private static RecipientInfo Recipient(RecipientKind kind, RecipientVerdict verdict, RegistrationStatus? status = null,
        bool address = false, bool nemSms = false) =>
        new(kind, kind == RecipientKind.Cpr ? "0101904521" : "12345674", verdict,
            verdict == RecipientVerdict.Unknown ? null : "Modtager", status, nemSms, kind == RecipientKind.Cpr ? 36 : null,
            [], [], address ? ["Vestergade 1", "8000 Aarhus C"] : []);

    /// <summary>The channel the letter takes, or the code of the reason it is returned; a returned letter must say why
    /// and what to do, and a decision is either a channel or a return, never both.</summary>
    private static string Outcome(ChannelDecision decision)
    {
        Assert.True(decision.Channel is null != decision.Returned is null, "a decision is either a channel or a return reason");
        if (decision.Returned is { } why)
        {
            Assert.False(string.IsNullOrWhiteSpace(why.Text), $"{why.Code} has no text");
            Assert.False(string.IsNullOrWhiteSpace(why.Remedy), $"{why.Code} has no remedy");
            return why.Code;
        }
        return decision.Channel!.Value.ToString();
    }

    [Theory]
    // Automatic: Digital Post, else physical post, else back to the sender.
    [InlineData(RecipientVerdict.DigitalPost, RegistrationStatus.Registered, true, false, ChannelChoice.Automatic, "DigitalPost")]
    [InlineData(RecipientVerdict.DigitalPost, RegistrationStatus.Registered, false, false, ChannelChoice.Automatic, "DigitalPost")]
    [InlineData(RecipientVerdict.DigitalPost, RegistrationStatus.Registered, true, true, ChannelChoice.Automatic, "DigitalPost")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.Exempt, true, false, ChannelChoice.Automatic, "PhysicalPost")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.NotYetConfirmed, true, true, ChannelChoice.Automatic, "PhysicalPost")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.Exempt, false, false, ChannelChoice.Automatic, "NO_ADDRESS")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.NotYetConfirmed, false, false, ChannelChoice.Automatic, "NO_ADDRESS")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.Closed, true, false, ChannelChoice.Automatic, "MAILBOX_CLOSED")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.Closed, false, false, ChannelChoice.Automatic, "MAILBOX_CLOSED")]
    [InlineData(RecipientVerdict.Unknown, null, false, false, ChannelChoice.Automatic, "UNKNOWN_RECIPIENT")]
    // Digital Post only.
    [InlineData(RecipientVerdict.DigitalPost, RegistrationStatus.Registered, false, false, ChannelChoice.DigitalPost, "DigitalPost")]
    [InlineData(RecipientVerdict.DigitalPost, RegistrationStatus.Registered, true, true, ChannelChoice.DigitalPost, "DigitalPost")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.Exempt, true, false, ChannelChoice.DigitalPost, "NOT_REGISTERED")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.NotYetConfirmed, true, false, ChannelChoice.DigitalPost, "NOT_REGISTERED")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.Closed, true, false, ChannelChoice.DigitalPost, "MAILBOX_CLOSED")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.Closed, false, false, ChannelChoice.DigitalPost, "MAILBOX_CLOSED")]
    [InlineData(RecipientVerdict.Unknown, null, false, false, ChannelChoice.DigitalPost, "UNKNOWN_RECIPIENT")]
    // Physical post only: needs an address, whatever the mailbox.
    [InlineData(RecipientVerdict.DigitalPost, RegistrationStatus.Registered, true, false, ChannelChoice.PhysicalPost, "PhysicalPost")]
    [InlineData(RecipientVerdict.DigitalPost, RegistrationStatus.Registered, false, false, ChannelChoice.PhysicalPost, "NO_ADDRESS")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.Exempt, true, false, ChannelChoice.PhysicalPost, "PhysicalPost")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.NotYetConfirmed, true, false, ChannelChoice.PhysicalPost, "PhysicalPost")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.NotYetConfirmed, false, false, ChannelChoice.PhysicalPost, "NO_ADDRESS")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.Closed, true, false, ChannelChoice.PhysicalPost, "MAILBOX_CLOSED")]
    [InlineData(RecipientVerdict.Unknown, null, false, false, ChannelChoice.PhysicalPost, "UNKNOWN_RECIPIENT")]
    // NemSMS: subscribers with an active mailbox only.
    [InlineData(RecipientVerdict.DigitalPost, RegistrationStatus.Registered, true, true, ChannelChoice.NemSms, "NemSms")]
    [InlineData(RecipientVerdict.DigitalPost, RegistrationStatus.Registered, false, true, ChannelChoice.NemSms, "NemSms")]
    [InlineData(RecipientVerdict.DigitalPost, RegistrationStatus.Registered, true, false, ChannelChoice.NemSms, "NO_NEMSMS")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.Exempt, true, true, ChannelChoice.NemSms, "NO_NEMSMS")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.NotYetConfirmed, true, true, ChannelChoice.NemSms, "NO_NEMSMS")]
    [InlineData(RecipientVerdict.NoActiveMailbox, RegistrationStatus.Closed, true, true, ChannelChoice.NemSms, "NO_NEMSMS")]
    [InlineData(RecipientVerdict.Unknown, null, false, false, ChannelChoice.NemSms, "UNKNOWN_RECIPIENT")]
    public void A_citizen_gets_the_channel_or_return_reason_of_the_table(RecipientVerdict verdict, RegistrationStatus? status,
        bool address, bool nemSms, ChannelChoice choice, string expected)
    {
        var decision = RecipientCheck.Decide(Recipient(RecipientKind.Cpr, verdict, status, address, nemSms), choice);

        Assert.Equal(expected, Outcome(decision));
    }

    [Theory]
    [InlineData(RecipientVerdict.DigitalPost, true, false, ChannelChoice.Automatic, "DigitalPost")]
    [InlineData(RecipientVerdict.DigitalPost, false, false, ChannelChoice.Automatic, "DigitalPost")]
    [InlineData(RecipientVerdict.NoActiveMailbox, true, false, ChannelChoice.Automatic, "PhysicalPost")]
    [InlineData(RecipientVerdict.NoActiveMailbox, false, false, ChannelChoice.Automatic, "NO_ADDRESS")]
    [InlineData(RecipientVerdict.Unknown, false, false, ChannelChoice.Automatic, "UNKNOWN_RECIPIENT")]
    [InlineData(RecipientVerdict.DigitalPost, false, false, ChannelChoice.DigitalPost, "DigitalPost")]
    [InlineData(RecipientVerdict.NoActiveMailbox, true, false, ChannelChoice.DigitalPost, "NOT_REGISTERED")]
    [InlineData(RecipientVerdict.Unknown, false, false, ChannelChoice.DigitalPost, "UNKNOWN_RECIPIENT")]
    [InlineData(RecipientVerdict.DigitalPost, true, false, ChannelChoice.PhysicalPost, "PhysicalPost")]
    [InlineData(RecipientVerdict.NoActiveMailbox, true, false, ChannelChoice.PhysicalPost, "PhysicalPost")]
    [InlineData(RecipientVerdict.DigitalPost, false, false, ChannelChoice.PhysicalPost, "NO_ADDRESS")]
    [InlineData(RecipientVerdict.DigitalPost, true, false, ChannelChoice.NemSms, "NO_NEMSMS")]
    [InlineData(RecipientVerdict.DigitalPost, true, true, ChannelChoice.NemSms, "NO_NEMSMS")]
    [InlineData(RecipientVerdict.NoActiveMailbox, true, false, ChannelChoice.NemSms, "NO_NEMSMS")]
    [InlineData(RecipientVerdict.Unknown, false, false, ChannelChoice.NemSms, "UNKNOWN_RECIPIENT")]
    public void A_company_gets_the_channel_or_return_reason_of_the_table(RecipientVerdict verdict, bool address, bool nemSms,
        ChannelChoice choice, string expected)
    {
        var decision = RecipientCheck.Decide(Recipient(RecipientKind.Cvr, verdict, null, address, nemSms), choice);

        Assert.Equal(expected, Outcome(decision));
    }

    [Theory]
    [InlineData(RecipientKind.Cpr, ChannelChoice.Automatic)]
    [InlineData(RecipientKind.Cpr, ChannelChoice.DigitalPost)]
    [InlineData(RecipientKind.Cpr, ChannelChoice.PhysicalPost)]
    [InlineData(RecipientKind.Cpr, ChannelChoice.NemSms)]
    [InlineData(RecipientKind.Cvr, ChannelChoice.Automatic)]
    [InlineData(RecipientKind.Cvr, ChannelChoice.DigitalPost)]
    [InlineData(RecipientKind.Cvr, ChannelChoice.PhysicalPost)]
    [InlineData(RecipientKind.Cvr, ChannelChoice.NemSms)]
    public void The_remedy_for_an_unknown_recipient_says_to_check_the_number(RecipientKind kind, ChannelChoice choice)
    {
        var decision = RecipientCheck.Decide(Recipient(kind, RecipientVerdict.Unknown), choice);

        Assert.Equal("UNKNOWN_RECIPIENT", Outcome(decision));
        var who = kind == RecipientKind.Cpr ? "CPR" : "CVR";
        Assert.Contains($"check the {who} number", decision.Returned!.Remedy);
        Assert.Contains(who, decision.Returned.Text);
    }

    [Theory]
    [InlineData(RegistrationStatus.Exempt, "exempt")]
    [InlineData(RegistrationStatus.NotYetConfirmed, "not active yet")]
    public void A_citizen_without_an_active_mailbox_is_told_why_and_pointed_to_physical_post(RegistrationStatus status, string why)
    {
        var decision = RecipientCheck.Decide(Recipient(RecipientKind.Cpr, RecipientVerdict.NoActiveMailbox, status, address: true),
            ChannelChoice.DigitalPost);

        Assert.Contains(why, decision.Returned!.Text);
        Assert.Contains("physical post", decision.Returned.Remedy);
    }

    [Theory]
    [InlineData(ChannelChoice.Automatic)]
    [InlineData(ChannelChoice.DigitalPost)]
    [InlineData(ChannelChoice.PhysicalPost)]
    public void A_closed_mailbox_is_returned_on_every_channel_with_the_advice_to_check_the_register_first(ChannelChoice channel)
    {
        var decision = RecipientCheck.Decide(Recipient(RecipientKind.Cpr, RecipientVerdict.NoActiveMailbox, RegistrationStatus.Closed, address: true), channel);

        Assert.Equal("MAILBOX_CLOSED", decision.Returned!.Code);
        Assert.Contains("closed", decision.Returned.Text);
        Assert.Contains("CPR/CVR register", decision.Returned.Remedy);
    }

    [Fact]
    public void A_company_without_an_active_mailbox_is_told_that_the_company_mailbox_is_not_active()
    {
        var decision = RecipientCheck.Decide(Recipient(RecipientKind.Cvr, RecipientVerdict.NoActiveMailbox, address: true),
            ChannelChoice.DigitalPost);

        Assert.Equal("NOT_REGISTERED", Outcome(decision));
        Assert.Contains("company", decision.Returned!.Text);
        Assert.Contains("physical post", decision.Returned.Remedy);
    }

    [Fact]
    public void NemSms_to_a_company_is_returned_because_NemSms_reaches_citizens_only()
    {
        var decision = RecipientCheck.Decide(Recipient(RecipientKind.Cvr, RecipientVerdict.DigitalPost, nemSms: true), ChannelChoice.NemSms);

        Assert.Equal("NO_NEMSMS", Outcome(decision));
        Assert.Contains("citizens only", decision.Returned!.Text);
    }

    [Fact]
    public void NemSms_to_a_citizen_who_does_not_subscribe_is_returned_with_Automatic_as_remedy()
    {
        var decision = RecipientCheck.Decide(Recipient(RecipientKind.Cpr, RecipientVerdict.DigitalPost, RegistrationStatus.Registered),
            ChannelChoice.NemSms);

        Assert.Equal("NO_NEMSMS", Outcome(decision));
        Assert.Contains("does not subscribe", decision.Returned!.Text);
        Assert.Contains("Automatic", decision.Returned.Remedy);
    }

    [Fact]
    public void A_channel_choice_outside_the_enum_is_refused()
    {
        var recipient = Recipient(RecipientKind.Cpr, RecipientVerdict.DigitalPost, RegistrationStatus.Registered, address: true);

        Assert.Throws<ArgumentOutOfRangeException>(() => RecipientCheck.Decide(recipient, (ChannelChoice)42));
    }
}

/// <summary>The bookkeeping of a batch's letters.</summary>
public class MassSendingLedgerTests
{
    private static readonly Guid BatchId = Guid.Parse("7d5a1c3e-0000-5000-8000-000000000001");
    private static readonly Guid Message = Guid.Parse("7d5a1c3e-0000-5000-8000-0000000000aa");
    private static readonly Guid OtherGeneration = Guid.Parse("7d5a1c3e-0000-5000-8000-0000000000bb");
    private static readonly DateTimeOffset At = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static LetterRecord Letter(int row, int copy, LetterState state, Guid? message = null, int generation = 0) =>
        new() { Row = row, Copy = copy, State = state, MessageUuid = message, Generation = generation };

    private static BatchLedger Ledger(params LetterRecord[] letters)
    {
        var ledger = new BatchLedger(new Dictionary<long, LetterRecord>());
        foreach (var letter in letters) ledger.Add(letter);
        return ledger;
    }

    private static LetterStatusChanged Change(int row, int copy, Guid message, LetterState state, bool rerouted = false,
        string? code = null, string? text = null) =>
        new(new BatchRef(BatchId, row, copy), message, state, At, code, text, rerouted);

    [Fact]
    public void A_change_from_the_letters_message_moves_it_to_the_new_state()
    {
        var letter = Letter(1, 0, LetterState.Queued, Message);
        var ledger = Ledger(letter);

        Assert.True(ledger.Apply(Change(1, 0, Message, LetterState.Delivered)));
        Assert.Equal(LetterState.Delivered, letter.State);
    }

    [Fact]
    public void A_change_for_a_letter_the_batch_does_not_have_is_ignored()
    {
        var letter = Letter(1, 0, LetterState.Queued, Message);
        var ledger = Ledger(letter);

        Assert.False(ledger.Apply(Change(2, 0, Message, LetterState.Delivered)));
        Assert.False(ledger.Apply(Change(1, 1, Message, LetterState.Delivered)));
        Assert.Single(ledger.Letters);
        Assert.Equal(LetterState.Queued, letter.State);
    }

    [Fact]
    public void A_change_from_a_message_of_another_generation_is_ignored()
    {
        var letter = Letter(1, 0, LetterState.Queued, Message, generation: 1);
        var ledger = Ledger(letter);

        Assert.False(ledger.Apply(Change(1, 0, OtherGeneration, LetterState.Failed, code: "VIRUS")));
        Assert.Equal(LetterState.Queued, letter.State);
        Assert.Null(letter.ErrorCode);
    }

    [Fact]
    public void A_repeat_of_the_same_state_changes_nothing()
    {
        var letter = Letter(1, 0, LetterState.Failing, Message);
        var ledger = Ledger(letter);
        Assert.True(ledger.Apply(Change(1, 0, Message, LetterState.Queued)));

        Assert.False(ledger.Apply(Change(1, 0, Message, LetterState.Queued, code: "LATE")));
        Assert.Equal(LetterState.Queued, letter.State);
        Assert.Null(letter.ErrorCode);
    }

    [Theory]
    [InlineData(LetterState.Delivered, LetterState.Failing)]
    [InlineData(LetterState.DeliveredToVirk, LetterState.Queued)]
    [InlineData(LetterState.HandedToPostalService, LetterState.Printed)]
    [InlineData(LetterState.SentAsNemSms, LetterState.Failed)]
    [InlineData(LetterState.Returned, LetterState.Delivered)]
    [InlineData(LetterState.Failed, LetterState.Delivered)]
    public void A_letter_in_a_final_state_is_not_changed_by_a_later_status(LetterState final, LetterState later)
    {
        var letter = Letter(1, 0, final, Message);
        letter.ErrorCode = "BEFORE";
        var ledger = Ledger(letter);

        Assert.False(ledger.Apply(Change(1, 0, Message, later, rerouted: true, code: "AFTER")));
        Assert.Equal(final, letter.State);
        Assert.Equal("BEFORE", letter.ErrorCode);
        Assert.False(letter.Rerouted);
    }

    [Fact]
    public void Print_steps_move_the_letter_forward_to_the_postal_service()
    {
        var letter = Letter(1, 0, LetterState.Queued, Message);
        var ledger = Ledger(letter);

        Assert.True(ledger.Apply(Change(1, 0, Message, LetterState.SentToPrint)));
        Assert.True(ledger.Apply(Change(1, 0, Message, LetterState.Printed)));
        Assert.True(ledger.Apply(Change(1, 0, Message, LetterState.HandedToPostalService)));
        Assert.Equal(LetterState.HandedToPostalService, letter.State);
    }

    [Fact]
    public void Printed_is_not_undone_by_a_late_SentToPrint()
    {
        var letter = Letter(1, 0, LetterState.Printed, Message);
        var ledger = Ledger(letter);

        Assert.False(ledger.Apply(Change(1, 0, Message, LetterState.SentToPrint)));
        Assert.Equal(LetterState.Printed, letter.State);
    }

    [Fact]
    public void Rerouted_sticks_when_later_changes_do_not_repeat_it()
    {
        var letter = Letter(1, 0, LetterState.Queued, Message);
        var ledger = Ledger(letter);

        ledger.Apply(Change(1, 0, Message, LetterState.Failing, rerouted: true));
        ledger.Apply(Change(1, 0, Message, LetterState.Queued));
        ledger.Apply(Change(1, 0, Message, LetterState.Delivered));

        Assert.Equal(LetterState.Delivered, letter.State);
        Assert.True(letter.Rerouted);
    }

    [Fact]
    public void A_failed_letter_keeps_the_messages_error_and_gets_a_remedy()
    {
        var letter = Letter(1, 0, LetterState.Failing, Message);
        var ledger = Ledger(letter);

        Assert.True(ledger.Apply(Change(1, 0, Message, LetterState.Failed, code: "VIRUS", text: "a virus was found")));

        Assert.Equal(("VIRUS", "a virus was found"), (letter.ErrorCode, letter.ErrorText));
        Assert.False(string.IsNullOrWhiteSpace(letter.Remedy));
        Assert.Equal(letter.Remedy, letter.ToView().Remedy);
    }

    [Theory]
    [InlineData(LetterState.Pending, nameof(BatchCounts.Pending))]
    [InlineData(LetterState.Queued, nameof(BatchCounts.Queued))]
    [InlineData(LetterState.Failing, nameof(BatchCounts.Failing))]
    [InlineData(LetterState.Delivered, nameof(BatchCounts.Delivered))]
    [InlineData(LetterState.DeliveredToVirk, nameof(BatchCounts.ToVirk))]
    [InlineData(LetterState.SentToPrint, nameof(BatchCounts.ToPrint))]
    [InlineData(LetterState.Printed, nameof(BatchCounts.ToPrint))]
    [InlineData(LetterState.HandedToPostalService, nameof(BatchCounts.ToPrint))]
    [InlineData(LetterState.SentAsNemSms, nameof(BatchCounts.ToNemSms))]
    [InlineData(LetterState.Returned, nameof(BatchCounts.Returned))]
    [InlineData(LetterState.Failed, nameof(BatchCounts.Failed))]
    [InlineData(LetterState.Cancelled, nameof(BatchCounts.Cancelled))]
    public void Every_letter_is_counted_in_exactly_one_state_bucket(LetterState state, string bucket)
    {
        var counts = Ledger(Letter(1, 0, state, Message)).Counts(acceptedRows: 1, rejectedRows: 0, undispatchedRows: 0);

        var buckets = Buckets(counts);
        Assert.Equal(1, buckets[bucket]);
        Assert.Equal(1, buckets.Values.Sum());
    }

    [Fact]
    public void Pending_includes_the_accepted_rows_not_yet_dispatched()
    {
        var ledger = Ledger(Letter(1, 0, LetterState.Pending), Letter(2, 0, LetterState.Queued, Message));

        var counts = ledger.Counts(acceptedRows: 6, rejectedRows: 2, undispatchedRows: 4);

        Assert.Equal(5, counts.Pending);
        Assert.Equal(1, counts.Queued);
        Assert.Equal((6, 2), (counts.Accepted, counts.RejectedRows));
    }

    [Fact]
    public void Cancelling_stops_exactly_the_pending_letters_without_a_message_id_and_undispatched_rows_count_as_cancelled_and_final()
    {
        var ledger = Ledger(Letter(1, 0, LetterState.Pending), Letter(1, 1, LetterState.Pending), Letter(2, 0, LetterState.Pending, Message),
            Letter(3, 0, LetterState.Queued, Message), Letter(4, 0, LetterState.Returned), Letter(5, 0, LetterState.Delivered, Message));

        var cancelled = ledger.CancelUnsent();
        var (counts, letters, final) = ledger.Tally(acceptedRows: 8, rejectedRows: 0, undispatchedRows: 3, cancelled: true);

        Assert.Equal([(1, 0), (1, 1)], cancelled.Select(l => (l.Row, l.Copy)).Order());
        Assert.All(cancelled, l => Assert.Equal((LetterState.Cancelled, "CANCELLED"), (l.State, l.ErrorCode)));
        Assert.Equal((5, 1, 1, 9, 7), (counts.Cancelled, counts.Pending, counts.Queued, letters, final));
        Assert.Equal(letters, Buckets(counts).Values.Sum());
        Assert.Empty(ledger.CancelUnsent());
        // Cancelled is final and no failure: "retry failed" leaves it alone.
        Assert.DoesNotContain(ledger.ResetFailed(), l => l.Row == 1);
    }

    [Fact]
    public void Copies_and_rerouted_letters_are_counted_besides_their_state()
    {
        var rerouted = Letter(1, 0, LetterState.Delivered, Message);
        rerouted.Rerouted = true;
        var ledger = Ledger(rerouted, Letter(1, 1, LetterState.Delivered), Letter(1, 2, LetterState.Returned), Letter(2, 0, LetterState.Queued));

        var counts = ledger.Counts(acceptedRows: 2, rejectedRows: 0, undispatchedRows: 0);

        Assert.Equal(2, counts.Copies);
        Assert.Equal(1, counts.Rerouted);
        Assert.Equal(2, counts.Delivered);
        Assert.Equal(1, counts.Returned);
    }

    [Fact]
    public void When_every_row_is_dispatched_accepted_rows_and_copies_add_up_to_the_state_buckets()
    {
        var ledger = Ledger(
            Letter(1, 0, LetterState.Delivered), Letter(1, 1, LetterState.SentToPrint), Letter(1, 2, LetterState.Returned),
            Letter(2, 0, LetterState.Failing), Letter(3, 0, LetterState.Pending), Letter(4, 0, LetterState.SentAsNemSms),
            Letter(5, 0, LetterState.HandedToPostalService), Letter(5, 1, LetterState.DeliveredToVirk), Letter(6, 0, LetterState.Failed));

        var counts = ledger.Counts(acceptedRows: 6, rejectedRows: 3, undispatchedRows: 0);

        Assert.Equal(counts.Accepted + counts.Copies, Buckets(counts).Values.Sum());
        Assert.Equal(9, counts.Accepted + counts.Copies);
    }

    [Fact]
    public void Errors_only_lists_returned_failed_and_failing_letters_by_row_then_copy()
    {
        var ledger = Ledger(
            Letter(10, 1, LetterState.Failed), Letter(2, 0, LetterState.Failed), Letter(1, 2, LetterState.Returned),
            Letter(3, 0, LetterState.Delivered), Letter(1, 1, LetterState.Queued), Letter(1, 0, LetterState.Failing),
            Letter(2, 1, LetterState.Pending), Letter(4, 0, LetterState.HandedToPostalService));

        var errors = ledger.InOrder(errorsOnly: true).Select(l => (l.Row, l.Copy));

        Assert.Equal([(1, 0), (1, 2), (2, 0), (10, 1)], errors);
    }

    [Fact]
    public void All_letters_are_listed_by_row_then_copy()
    {
        var ledger = Ledger(Letter(2, 0, LetterState.Queued), Letter(1, 3, LetterState.Delivered), Letter(300, 0, LetterState.Pending),
            Letter(1, 0, LetterState.Failed), Letter(2, 1, LetterState.Returned));

        var all = ledger.InOrder(errorsOnly: false).Select(l => (l.Row, l.Copy));

        Assert.Equal([(1, 0), (1, 3), (2, 0), (2, 1), (300, 0)], all);
    }

    [Fact]
    public void ResetFailed_returns_exactly_the_failed_and_returned_letters_and_leaves_the_others()
    {
        var ledger = Ledger(Letter(1, 0, LetterState.Failed, Message), Letter(1, 1, LetterState.Returned), Letter(2, 0, LetterState.Failing, Message),
            Letter(3, 0, LetterState.Delivered, Message), Letter(4, 0, LetterState.Queued, Message), Letter(5, 0, LetterState.Pending));

        var reset = ledger.ResetFailed();

        Assert.Equal([(1, 0), (1, 1)], reset.Select(l => (l.Row, l.Copy)).Order());
        Assert.Equal([LetterState.Pending, LetterState.Pending, LetterState.Failing, LetterState.Delivered, LetterState.Queued, LetterState.Pending],
            ledger.InOrder(errorsOnly: false).Select(l => l.State));
    }

    [Fact]
    public void A_reset_letter_that_had_a_message_gets_the_next_generation_and_one_without_keeps_its_own()
    {
        var sent = Letter(1, 0, LetterState.Failed, Message, generation: 1);
        var neverSent = Letter(2, 0, LetterState.Returned, generation: 1);
        var ledger = Ledger(sent, neverSent);

        ledger.ResetFailed();

        Assert.Equal(2, sent.Generation);
        Assert.Equal(1, neverSent.Generation);
        Assert.Null(sent.MessageUuid);
    }

    [Fact]
    public void A_reset_letter_is_pending_without_channel_error_or_remedy()
    {
        var letter = Letter(1, 0, LetterState.Returned);
        (letter.Channel, letter.ErrorCode, letter.ErrorText, letter.Remedy) = (DeliveryChannel.PhysicalPost, "NO_ADDRESS", "no address", "find it");
        var ledger = Ledger(letter);

        ledger.ResetFailed();

        Assert.Equal(LetterState.Pending, letter.State);
        Assert.Equal((null, null, null, null), (letter.Channel, letter.ErrorCode, letter.ErrorText, letter.Remedy));
        Assert.Empty(ledger.InOrder(errorsOnly: true));
    }

    [Fact]
    public void A_late_status_of_the_message_from_before_a_retry_is_ignored()
    {
        var letter = Letter(1, 0, LetterState.Failed, Message);
        var ledger = Ledger(letter);
        ledger.ResetFailed();

        Assert.False(ledger.Apply(Change(1, 0, Message, LetterState.Delivered)));
        Assert.Equal(LetterState.Pending, letter.State);
    }

    private static Dictionary<string, int> Buckets(BatchCounts c) => new()
    {
        [nameof(c.Pending)] = c.Pending, [nameof(c.Queued)] = c.Queued, [nameof(c.Failing)] = c.Failing,
        [nameof(c.Delivered)] = c.Delivered, [nameof(c.ToVirk)] = c.ToVirk, [nameof(c.ToPrint)] = c.ToPrint,
        [nameof(c.ToNemSms)] = c.ToNemSms, [nameof(c.Returned)] = c.Returned, [nameof(c.Failed)] = c.Failed,
        [nameof(c.Cancelled)] = c.Cancelled,
    };
}

/// <summary>Batch and letter ids derived by name.</summary>
public class MassSendingIdsTests
{
    private static readonly Guid Batch = BatchIds.Batch("kommune-101", "indkaldelse-2026-03");

    [Fact]
    public void The_same_sender_and_batch_id_give_the_same_batch_id()
    {
        Assert.Equal(Batch, BatchIds.Batch("kommune-101", "indkaldelse-2026-03"));
        Assert.Equal(BatchIds.Letter(Batch, 7, 1, 2), BatchIds.Letter(Batch, 7, 1, 2));
    }

    [Fact]
    public void Ids_are_the_sha256_name_based_uuids_of_their_namespace_so_they_survive_restarts_and_upgrades()
    {
        // Computed outside .NET (Python's uuid and hashlib): SHA-256 of namespace bytes + UTF-8 name, version and variant set.
        Assert.Equal(Guid.Parse("0c22c63d-002d-51f2-95d2-8758e6201219"), Batch);
        Assert.Equal(Guid.Parse("65192d8f-c253-52b2-b989-493777a7947c"), BatchIds.Letter(Batch, 7, 1, 2));
    }

    [Theory]
    [InlineData("kommune-102", "indkaldelse-2026-03")]
    [InlineData("kommune-101", "indkaldelse-2026-04")]
    [InlineData("kommune-10", "1indkaldelse-2026-03")]
    [InlineData("KOMMUNE-101", "indkaldelse-2026-03")]
    public void Another_sender_or_batch_id_gives_another_batch_id(string sender, string batchId) =>
        Assert.NotEqual(Batch, BatchIds.Batch(sender, batchId));

    [Theory]
    [InlineData(2, 3, 0)]
    [InlineData(1, 4, 0)]
    [InlineData(1, 3, 1)]
    public void Another_row_copy_or_generation_gives_another_letter_id(int row, int copy, int generation) =>
        Assert.NotEqual(BatchIds.Letter(Batch, 1, 3, 0), BatchIds.Letter(Batch, row, copy, generation));

    [Fact]
    public void Row_and_copy_do_not_run_together_in_the_letter_id() =>
        Assert.NotEqual(BatchIds.Letter(Batch, 12, 3, 0), BatchIds.Letter(Batch, 1, 23, 0));

    [Fact]
    public void The_same_row_of_another_batch_gets_another_letter_id() =>
        Assert.NotEqual(BatchIds.Letter(Batch, 1, 0, 0), BatchIds.Letter(BatchIds.Batch("kommune-101", "other"), 1, 0, 0));

    [Fact]
    public void Ids_carry_version_5_and_the_RFC_variant()
    {
        Guid[] ids = [Batch, BatchIds.Batch("", ""), BatchIds.Batch("æøå", "ÆØÅ"), BatchIds.Letter(Batch, 0, 0, 0), BatchIds.Letter(Batch, 99999, 7, 3)];

        foreach (var id in ids)
        {
            var text = id.ToString("D");
            Assert.Equal('5', text[14]);
            Assert.Contains(text[19].ToString(), "89ab");
        }
    }

    [Fact]
    public void A_batch_id_from_content_is_prefixed_and_stable()
    {
        const string fingerprint = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";

        var id = BatchIds.FromContent(fingerprint);

        Assert.Equal("content-9f86d081884c7d659a2feaa0c55ad015", id);
        Assert.Equal(id, BatchIds.FromContent(fingerprint.ToLowerInvariant()));
        Assert.NotEqual(id, BatchIds.FromContent("0" + fingerprint[1..]));
    }
}

/// <summary>The rules a batch's options must keep.</summary>
public class MassSendingOptionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan MaxValoerAhead = TimeSpan.FromDays(12);
    private static readonly BatchOptions Valid = new("Indkaldelse til skolestart", BatchId: "skolestart-2026");

    private static IReadOnlyList<ValidationError> Validate(BatchOptions options) => BatchRules.Validate(options, Now, MaxValoerAhead);

    /// <summary>The options fail on exactly this field.</summary>
    private static void FailsOn(string field, BatchOptions options)
    {
        var errors = Validate(options);
        Assert.Equal([field], errors.Select(e => e.Field));
        Assert.False(string.IsNullOrWhiteSpace(errors[0].Reason));
    }

    private static BatchOptions WithAction(BatchAction action, DateTimeOffset? sendAt = null) => Valid with { Actions = [action], SendAt = sendAt };

    [Fact]
    public void Complete_valid_options_pass()
    {
        var options = Valid with
        {
            Label = new string('a', 256),
            BatchId = new string('b', BatchRules.MaxBatchIdLength),
            SendAt = Now.AddDays(2),
            ValoerDate = Now.AddDays(3),
            ReplyAllowed = true,
            Actions =
            [
                new(ActionCode.Betaling, "Betal", new Uri("https://betal.example.dk/x"), Now.AddDays(30)),
                new(ActionCode.Aftale, "Book tid", Reservation: "BEGIN:VEVENT"),
            ],
        };

        Assert.Empty(Validate(options));
        Assert.Empty(Validate(Valid with { BatchId = null }));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t")]
    public void A_missing_or_blank_label_fails_on_the_label(string label) => FailsOn("options.label", Valid with { Label = label });

    [Fact]
    public void A_label_longer_than_256_characters_fails_on_the_label() =>
        FailsOn("options.label", Valid with { Label = new string('a', 257) });

    [Theory]
    [InlineData(0)]
    [InlineData(BatchRules.MaxBatchIdLength + 1)]
    public void A_batch_id_of_the_wrong_length_fails_on_the_batch_id(int length) =>
        FailsOn("options.batchId", Valid with { BatchId = new string('x', length) });

    [Theory]
    [InlineData("batch\n1")]
    [InlineData("batch\t1")]
    [InlineData("batch\u00001")]
    public void A_batch_id_with_control_characters_fails_on_the_batch_id(string batchId) =>
        FailsOn("options.batchId", Valid with { BatchId = batchId });

    [Fact]
    public void A_valoer_date_more_than_the_limit_ahead_fails_and_exactly_at_the_limit_passes()
    {
        FailsOn("options.valoerDate", Valid with { ValoerDate = Now + MaxValoerAhead + TimeSpan.FromMinutes(1) });
        Assert.Empty(Validate(Valid with { ValoerDate = Now + MaxValoerAhead }));
    }

    [Fact]
    public void A_valoer_date_before_the_send_time_fails_on_the_valoer_date()
    {
        FailsOn("options.valoerDate", Valid with { SendAt = Now.AddDays(5), ValoerDate = Now.AddDays(2) });
        FailsOn("options.valoerDate", Valid with { ValoerDate = Now.AddDays(-2) });
    }

    [Fact]
    public void An_action_without_entry_point_or_reservation_fails_on_the_action()
    {
        FailsOn("options.actions[0]", WithAction(new BatchAction(ActionCode.Information, "Læs mere")));
        FailsOn("options.actions[0]", WithAction(new BatchAction(ActionCode.Aftale, "Book tid", Reservation: " ")));
    }

    [Fact]
    public void An_action_without_a_label_fails_on_its_label() =>
        FailsOn("options.actions[0].label", WithAction(new BatchAction(ActionCode.Selvbetjening, "", new Uri("https://x.example.dk"))));

    [Fact]
    public void A_relative_entry_point_fails_on_the_entry_point() =>
        FailsOn("options.actions[0].entryPoint", WithAction(new BatchAction(ActionCode.Selvbetjening, "Gå til", new Uri("/selvbetjening", UriKind.Relative))));

    [Fact]
    public void An_action_that_ends_before_the_batch_is_sent_fails_on_its_end_time()
    {
        var link = new Uri("https://betal.example.dk");
        FailsOn("options.actions[0].endDateTime", WithAction(new BatchAction(ActionCode.Betaling, "Betal", link, Now.AddHours(-1))));
        FailsOn("options.actions[0].endDateTime", WithAction(new BatchAction(ActionCode.Betaling, "Betal", link, Now.AddDays(3)), sendAt: Now.AddDays(4)));
        Assert.Empty(Validate(WithAction(new BatchAction(ActionCode.Betaling, "Betal", link, Now.AddDays(5)), sendAt: Now.AddDays(4))));
    }

    [Fact]
    public void Errors_of_a_later_action_name_its_index()
    {
        var options = Valid with
        {
            Actions = [new(ActionCode.Betaling, "Betal", new Uri("https://betal.example.dk")), new(ActionCode.Information, "Info", EndDateTime: Now.AddDays(1))],
        };

        FailsOn("options.actions[1]", options);
    }

    [Fact]
    public void A_send_time_more_than_a_year_ahead_fails_on_the_send_time()
    {
        FailsOn("options.sendAt", Valid with { SendAt = Now.AddDays(366) });
        Assert.Empty(Validate(Valid with { SendAt = Now.AddDays(365) }));
    }
}

/// <summary>The message made for one letter of a batch.</summary>
public class MassSendingLetterFactoryTests
{
    private static readonly Guid MessageUuid = Guid.Parse("65192d8f-c253-52b2-b989-493777a7947c");
    private static readonly Guid BatchId = Guid.Parse("0c22c63d-002d-51f2-95d2-8758e6201219");
    private static readonly DateTimeOffset Valoer = new(2026, 3, 10, 0, 0, 0, TimeSpan.FromHours(1));
    private static readonly DateTimeOffset PayBy = new(2026, 4, 1, 12, 0, 0, TimeSpan.FromHours(2));

    private static readonly Attachment Guide = new("vejledning.pdf", "application/pdf", [1, 2]);
    private static readonly Attachment Plan = new("plan-7.pdf", "application/pdf", [3]);
    private static readonly Attachment OtherPlan = new("plan-8.pdf", "application/pdf", [4]);
    private static readonly Attachment Photo = new("foto.jpg", "image/jpeg", [5, 6]);

    private static readonly BatchHeader Batch = new("kommune-101", "indkaldelse", "29189838", "Aarhus Kommune",
        new BatchOptions("Indkaldelse", ChannelChoice.Automatic, Valoer, ReplyAllowed: true, Actions:
        [
            new(ActionCode.Betaling, "Betal", new Uri("https://betal.example.dk/7"), PayBy),
            new(ActionCode.Aftale, "Book tid", Reservation: "BEGIN:VEVENT"),
        ]),
        "Kære {{ navn }}", [Guide], [Plan, OtherPlan, Photo], "fingerprint");

    private static readonly BatchRow Row = new(7, RecipientKind.Cvr, "12345674", "1003456789", new Dictionary<string, string>(),
        ["foto.jpg", "plan-7.pdf"], []);

    private static RecipientInfo Recipient(RecipientKind kind = RecipientKind.Cvr, params string[] address) =>
        new(kind, kind == RecipientKind.Cpr ? "0101904521" : "12345674", RecipientVerdict.DigitalPost, "Modtager A/S",
            kind == RecipientKind.Cpr ? RegistrationStatus.Registered : null, false, null, [], [], address);

    private static Message Create(int copy = 0, RecipientInfo? recipient = null, DeliveryChannel channel = DeliveryChannel.DigitalPost,
        BatchHeader? batch = null, BatchRow? row = null) =>
        LetterFactory.Create(MessageUuid, batch ?? Batch, BatchId, row ?? Row, copy, recipient ?? Recipient(), channel);

    [Fact]
    public void The_message_carries_the_batch_label_sender_reply_and_valoer_date()
    {
        var header = Create().Header;

        Assert.Equal(MessageUuid, header.MessageUuid);
        Assert.Equal("Indkaldelse", header.Label);
        Assert.Equal(new Sender("29189838", "Aarhus Kommune"), header.Sender);
        Assert.True(header.Reply);
        Assert.Equal(Valoer, header.DoNotDeliverUntilDate);
    }

    [Theory]
    [InlineData(0, "Indkaldelse")]
    [InlineData(1, "Kopi: Indkaldelse")]
    [InlineData(2, "Kopi: Indkaldelse")]
    public void A_copy_is_labelled_as_a_copy(int copy, string label)
    {
        var message = Create(copy);

        Assert.Equal(label, message.Header.Label);
        Assert.Equal(label, message.Body.MainDocument.Label);
    }

    [Fact]
    public void The_batch_actions_become_document_actions_with_their_end_times()
    {
        var actions = Create().Body.MainDocument.Actions;

        Assert.Equal(
            [
                new DocumentAction(ActionCode.Betaling, "Betal", new Uri("https://betal.example.dk/7"), null, null, PayBy),
                new DocumentAction(ActionCode.Aftale, "Book tid", null, "BEGIN:VEVENT", null, null),
            ],
            actions!);
    }

    [Fact]
    public void A_batch_without_actions_gives_a_main_document_without_actions()
    {
        var message = Create(batch: Batch with { Options = Batch.Options with { Actions = null } });

        Assert.True(message.Body.MainDocument.Actions is null or { Count: 0 });
    }

    [Fact]
    public void The_main_document_brev_pdf_is_named_by_where_it_is_rendered_not_carried()
    {
        var file = Assert.Single(Create().Body.MainDocument.Files);

        Assert.Equal(("brev.pdf", "application/pdf"), (file.Filename, file.EncodingFormat));
        Assert.Empty(file.Content);
        Assert.Equal($"/api/letters/{MessageUuid}/document.pdf", file.Location?.ToString());
    }

    [Fact]
    public void The_common_and_the_rows_own_attachments_are_the_additional_documents()
    {
        var documents = Create().Body.AdditionalDocuments!;

        Assert.Equal(["vejledning.pdf", "foto.jpg", "plan-7.pdf"], documents.Select(d => d.Label));
        Assert.Equal([(Guide.Filename, Guide.ContentType, Guide.Content), (Photo.Filename, Photo.ContentType, Photo.Content), (Plan.Filename, Plan.ContentType, Plan.Content)],
            documents.Select(d => Assert.Single(d.Files)).Select(f => (f.Filename, f.EncodingFormat, f.Content)));
    }

    [Fact]
    public void A_letter_without_attachments_has_no_additional_documents()
    {
        var message = Create(batch: Batch with { CommonAttachments = [] }, row: Row with { Attachments = [] });

        Assert.True(message.Body.AdditionalDocuments is null or { Count: 0 });
    }

    [Theory]
    [InlineData(DeliveryChannel.DigitalPost, MessageType.DigitalPost)]
    [InlineData(DeliveryChannel.PhysicalPost, MessageType.DigitalPost)]
    [InlineData(DeliveryChannel.NemSms, MessageType.NemSms)]
    public void The_message_travels_on_its_channel_and_is_a_NemSms_only_on_that_channel(DeliveryChannel channel, MessageType type)
    {
        var message = Create(channel: channel);

        Assert.Equal(channel, message.Channel);
        Assert.Equal(type, message.Header.MessageType);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void The_message_refers_to_its_batch_row_and_copy(int copy) =>
        Assert.Equal(new BatchRef(BatchId, 7, copy), Create(copy).Batch);

    [Theory]
    [InlineData(RecipientKind.Cpr, RecipientIdType.Cpr, "0101904521")]
    [InlineData(RecipientKind.Cvr, RecipientIdType.Cvr, "12345674")]
    public void The_recipient_has_the_id_type_of_its_kind(RecipientKind kind, RecipientIdType type, string id)
    {
        var recipient = Create(recipient: Recipient(kind)).Header.Recipient;

        Assert.Equal((id, type, "Modtager A/S"), (recipient.RecipientId, recipient.IdType, recipient.Label));
    }

    [Theory]
    [InlineData(0, "1003456789")]
    [InlineData(1, null)]
    public void Only_the_rows_own_letter_goes_to_its_P_number(int copy, string? pNumber) =>
        Assert.Equal(pNumber, Create(copy).Header.Recipient.ProductionUnit);

    [Fact]
    public void The_address_is_given_only_when_known()
    {
        Assert.Equal(["Vestergade 1", "8000 Aarhus C"], Create(recipient: Recipient(RecipientKind.Cvr, "Vestergade 1", "8000 Aarhus C")).Header.Recipient.Address!);
        Assert.Null(Create(recipient: Recipient(RecipientKind.Cvr)).Header.Recipient.Address);
    }
}
