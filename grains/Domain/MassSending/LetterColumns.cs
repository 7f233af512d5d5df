using DigitalPost.Contracts;
using DigitalPost.Grains;

namespace DigitalPost.Domain.MassSending;

/// <summary>Where a letter stands, as its row in the letter store says it: the columns its message grain writes with its
/// state, the change its batch hears, and what a batch's save of an older view must keep.</summary>
public sealed record LetterColumns(LetterState State, string? ErrorCode, string? ErrorText, string? Remedy, bool Rerouted)
{
    public const string FailedRemedy = "the letter was not delivered; correct the cause and retry the failed letters";

    public bool Final => State.IsFinal();

    /// <summary>A message's state as its letter's row: the error only while it fails or once it stopped, and rerouted
    /// once it went elsewhere than first routed (day-7 forwarding or rerouting).</summary>
    public static LetterColumns Of(MessageState message)
    {
        var state = message.Status.ToLetterState();
        var failing = message.Status is MessageStatus.Stopped or MessageStatus.Failing;
        return new(state, failing ? message.ErrorCode : null, failing ? message.ErrorText : null, state == LetterState.Failed ? FailedRemedy : null,
            message.ForwardedFrom is not null || message.History.Any(e => e.Kind is MessageEventKind.Rerouted or MessageEventKind.Forwarded));
    }

    public static LetterColumns Of(LetterRecord letter) => new(letter.State, letter.ErrorCode, letter.ErrorText, letter.Remedy, letter.Rerouted);

    public void ApplyTo(LetterRecord letter) =>
        (letter.State, letter.ErrorCode, letter.ErrorText, letter.Remedy, letter.Rerouted) = (State, ErrorCode, ErrorText, Remedy, Rerouted);

    public LetterStatusChanged Change(BatchRef letter, Guid messageUuid, DateTimeOffset at, IReadOnlyList<DeliveryAttempt>? attempts) =>
        new(letter, messageUuid, State, at, ErrorCode, ErrorText, Rerouted, attempts);
}

/// <summary>A message grain's state as stored on its letter's row, and the row's version (the state's ETag). No state
/// when the grain has not written it there (or cleared it).</summary>
public sealed record StoredMessageState(byte[]? State, int Version);
