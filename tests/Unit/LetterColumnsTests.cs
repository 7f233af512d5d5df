using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Grains;
using DigitalPost.Infrastructure;

namespace DigitalPost.Tests.Unit;

/// <summary>What a message grain's state says on its letter's row, and what a batch's save keeps of it.</summary>
public class LetterColumnsTests
{
    private static MessageState State(MessageStatus status, params MessageEventKind[] history) => new()
    {
        Status = status,
        ErrorCode = "NO_RECEIPT",
        ErrorText = "no business receipt before the deadline",
        History = [.. history.Select(k => new MessageEvent(TestMessages.Now, k, "step"))],
    };

    [Theory]
    [InlineData(MessageStatus.Accepted, LetterState.Queued, false)]
    [InlineData(MessageStatus.AwaitingReceipt, LetterState.Queued, false)]
    [InlineData(MessageStatus.Failing, LetterState.Failing, true)]
    [InlineData(MessageStatus.Stopped, LetterState.Failed, true)]
    [InlineData(MessageStatus.Delivered, LetterState.Delivered, false)]
    [InlineData(MessageStatus.SentToPrint, LetterState.SentToPrint, false)]
    public void A_message_gives_its_rows_state_and_its_error_only_while_failing_or_stopped(MessageStatus status, LetterState state, bool error)
    {
        var columns = LetterColumns.Of(State(status));

        Assert.Equal((state, state.IsFinal()), (columns.State, columns.Final));
        Assert.Equal(error ? ("NO_RECEIPT", "no business receipt before the deadline") : (null, null), (columns.ErrorCode, columns.ErrorText));
        Assert.Equal(state == LetterState.Failed ? LetterColumns.FailedRemedy : null, columns.Remedy);
    }

    [Theory]
    [InlineData(MessageEventKind.Forwarded, true)]
    [InlineData(MessageEventKind.Rerouted, true)]
    [InlineData(MessageEventKind.Pushed, false)]
    public void A_message_that_went_elsewhere_than_first_routed_is_rerouted(MessageEventKind step, bool rerouted) =>
        Assert.Equal(rerouted, LetterColumns.Of(State(MessageStatus.AwaitingReceipt, MessageEventKind.Accepted, step)).Rerouted);

    [Fact]
    public void The_columns_of_a_letter_go_onto_another_copy_of_it()
    {
        var stored = new LetterRecord { State = LetterState.Failing, ErrorCode = "NO_RECEIPT", ErrorText = "late", Rerouted = true };
        var older = new LetterRecord { State = LetterState.Queued, Archived = true };

        LetterColumns.Of(stored).ApplyTo(older);

        Assert.Equal((LetterState.Failing, "NO_RECEIPT", "late", (string?)null, true, true),
            (older.State, older.ErrorCode, older.ErrorText, older.Remedy, older.Rerouted, older.Archived));
    }

    [Theory]
    [InlineData(1, 0, 0, true)]
    [InlineData(3, 1, 0, true)]
    [InlineData(0, 0, 0, false)]
    [InlineData(2, 0, 1, false)]
    public void A_save_keeps_the_grains_state_once_written_unless_it_is_a_newer_generation(int version, int storedGeneration, int incomingGeneration, bool keeps) =>
        Assert.Equal(keeps, LetterRows.KeepsMessageState(version, storedGeneration, incomingGeneration));
}
