namespace DigitalPost.Contracts;

// Mass sending (masseforsendelse): a merge batch is a letter template, a CSV of recipients with merge fields,
// attachments and options. Every row becomes one message.

/// <summary>How a letter may travel, as SF1601's KombiValgKode.</summary>
[GenerateSerializer, Alias("dp.ChannelChoice")]
public enum ChannelChoice
{
    /// <summary>Digital Post when the recipient has an active mailbox, else physical post.</summary>
    Automatic,
    /// <summary>Digital Post only: a recipient without an active mailbox is returned to the sender.</summary>
    DigitalPost,
    /// <summary>Physical post only (fjernprint).</summary>
    PhysicalPost,
    /// <summary>NemSMS to citizens who subscribe to it; others are returned to the sender.</summary>
    NemSms,
}

/// <summary>The way one message actually travels, decided by the recipient check before sending.</summary>
[GenerateSerializer, Alias("dp.DeliveryChannel")]
public enum DeliveryChannel { DigitalPost, PhysicalPost, NemSms }

[GenerateSerializer, Alias("dp.RecipientKind")]
public enum RecipientKind { Cpr, Cvr }

/// <summary>An action (handling) put on every letter of a batch.</summary>
[GenerateSerializer, Immutable, Alias("dp.BatchAction")]
public sealed record BatchAction(
    [property: Id(0)] ActionCode Code,
    [property: Id(1)] string Label,
    [property: Id(2)] Uri? EntryPoint = null,
    [property: Id(3)] DateTimeOffset? EndDateTime = null,
    [property: Id(4)] string? Reservation = null);

[GenerateSerializer, Immutable, Alias("dp.BatchOptions")]
public sealed record BatchOptions(
    /// <summary>The letters' title (the message label).</summary>
    [property: Id(0)] string Label,
    [property: Id(1)] ChannelChoice Channel = ChannelChoice.Automatic,
    /// <summary>Valør date: letters are not delivered before it (at most 12 days ahead).</summary>
    [property: Id(2)] DateTimeOffset? ValoerDate = null,
    [property: Id(3)] bool ReplyAllowed = false,
    [property: Id(4)] IReadOnlyList<BatchAction>? Actions = null,
    /// <summary>Deferred sending: nothing is sent before this time.</summary>
    [property: Id(5)] DateTimeOffset? SendAt = null,
    /// <summary>Add a copy to each guardian of a recipient under 18.</summary>
    [property: Id(6)] bool CopyToGuardians = true,
    /// <summary>The sender's own id for the batch: resubmitting with the same id never makes a second letter.
    /// Derived from the content when missing.</summary>
    [property: Id(7)] string? BatchId = null,
    /// <summary>Delivers every letter through its own message grain from the start, as a straightforward design would.
    /// For comparison and diagnosis only: it is much slower than the default, where a clean delivery needs no grain.</summary>
    [property: Id(8)] bool PerMessageDelivery = false);

/// <summary>A file attached to letters: common (to every row) or individual (named by a row's attachment column).</summary>
[GenerateSerializer, Immutable, Alias("dp.Attachment")]
public sealed record Attachment([property: Id(0)] string Filename, [property: Id(1)] string ContentType, [property: Id(2)] byte[] Content);

/// <summary>One accepted CSV row: its recipient and merge fields. <see cref="Row"/> counts data rows from 1.</summary>
[GenerateSerializer, Immutable, Alias("dp.BatchRow")]
public sealed record BatchRow(
    [property: Id(0)] int Row,
    [property: Id(1)] RecipientKind Kind,
    [property: Id(2)] string RecipientId,
    /// <summary>A production unit (P-nummer) of the CVR recipient.</summary>
    [property: Id(3)] string? PNumber,
    [property: Id(4)] IReadOnlyDictionary<string, string> Fields,
    /// <summary>Filenames of individual attachments.</summary>
    [property: Id(5)] IReadOnlyList<string> Attachments,
    /// <summary>CPR or CVR numbers that get a copy of this row's letter.</summary>
    [property: Id(6)] IReadOnlyList<string> Copies);

[GenerateSerializer, Alias("dp.IssueSeverity")]
public enum IssueSeverity { Error, Warning }

/// <summary>What is wrong with one CSV row, and where. An error rejects the row; a warning does not.</summary>
[GenerateSerializer, Immutable, Alias("dp.RowIssue")]
public sealed record RowIssue(
    [property: Id(0)] int Row,
    [property: Id(1)] string Field,
    [property: Id(2)] string Reason,
    [property: Id(3)] IssueSeverity Severity = IssueSeverity.Error);

/// <summary>Where one letter of a batch stands. The final states are those a letter does not leave by itself.</summary>
[GenerateSerializer, Alias("dp.LetterState")]
public enum LetterState
{
    /// <summary>Accepted, not yet sent (waiting for its turn or its send time).</summary>
    Pending,
    /// <summary>Handed to its message; delivery under way (in Digital Post: awaiting the receipt, or the valør date).</summary>
    Queued,
    /// <summary>In the resend flow: the receiver system failed and the platform retries.</summary>
    Failing,
    Delivered,
    DeliveredToVirk,
    SentToPrint,
    Printed,
    HandedToPostalService,
    SentAsNemSms,
    /// <summary>Not sent: the recipient cannot receive it on the chosen channel (reason and remedy given).</summary>
    Returned,
    /// <summary>Stopped for good (for example a virus found by the receiver system).</summary>
    Failed,
    /// <summary>Cancelled by its sender before it was sent (see <see cref="IMergeBatchGrain.Cancel"/>): never sent.</summary>
    Cancelled,
}

public static class LetterStates
{
    public static bool IsFinal(this LetterState state) => state is LetterState.Delivered or LetterState.DeliveredToVirk
        or LetterState.HandedToPostalService or LetterState.SentAsNemSms or LetterState.Returned or LetterState.Failed or LetterState.Cancelled;

    public static bool IsFailure(this LetterState state) => state is LetterState.Returned or LetterState.Failed;
}

/// <summary>Which part of the platform moves a letter of a batch. A clean letter is delivered by its lane in bulk, with
/// no message grain of its own; a letter that needs a life of its own (the resend flow, print, a valør date) is its
/// message grain's.</summary>
[GenerateSerializer, Alias("dp.LetterLane")]
public enum LetterLane
{
    /// <summary>Its message grain (key: messageUUID) moves it.</summary>
    MessageGrain,
    /// <summary>Pushed in bulk to an organisation's receiver system (modtagersystem), finished by its business receipt.</summary>
    ReceiverSystem,
    /// <summary>Appended in bulk to the registered citizen's Digital Post mailbox: delivered once it is there.</summary>
    CitizenMailbox,
    /// <summary>Appended in bulk to the NemSMS queue: sent once it is there.</summary>
    NemSms,
    /// <summary>Appended in bulk to the remote-print queue (fjernprint); the print provider moves its row to printed
    /// and handed to the postal service.</summary>
    Print,
}

/// <summary>Ties a message to the batch row it was made from.</summary>
[GenerateSerializer, Immutable, Alias("dp.BatchRef")]
public sealed record BatchRef(
    [property: Id(0)] Guid BatchId,
    [property: Id(1)] int Row,
    /// <summary>0 for the row's letter; 1.. for its copies (guardians, extra recipients).</summary>
    [property: Id(2)] int Copy = 0,
    /// <summary>The partition of the batch that owns the letter: its changes go to that partition's stream.</summary>
    [property: Id(3)] int Partition = 0);

/// <summary>A change in a letter's state, as it flows on the <see cref="LetterStream"/> stream of its batch.</summary>
[GenerateSerializer, Immutable, Alias("dp.LetterStatusChanged")]
public sealed record LetterStatusChanged(
    [property: Id(0)] BatchRef Letter,
    [property: Id(1)] Guid MessageUuid,
    [property: Id(2)] LetterState State,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] string? ErrorCode = null,
    [property: Id(5)] string? ErrorText = null,
    /// <summary>The letter went elsewhere than first routed (day-7 forwarding or rerouting).</summary>
    [property: Id(6)] bool Rerouted = false,
    /// <summary>On a final state: every delivery attempt with its receipt, for the archive.</summary>
    [property: Id(7)] IReadOnlyList<DeliveryAttempt>? Attempts = null);

public static class LetterStream
{
    public const string Provider = "status";
    /// <summary>One stream per partition of a batch, keyed like the partition grain ("batchId/partition"), in this
    /// namespace.</summary>
    public const string Namespace = "letters";
}

[GenerateSerializer, Alias("dp.BatchPhase")]
public enum BatchPhase
{
    /// <summary>Rows are arriving; nothing is sent yet.</summary>
    Receiving,
    /// <summary>Waiting for its deferred send time.</summary>
    Scheduled,
    Sending,
    /// <summary>Every letter has a final state.</summary>
    Completed,
}

[GenerateSerializer, Immutable, Alias("dp.BatchCounts")]
public sealed record BatchCounts(
    [property: Id(0)] int Accepted,
    [property: Id(1)] int RejectedRows,
    [property: Id(2)] int Pending,
    [property: Id(3)] int Queued,
    [property: Id(4)] int Failing,
    [property: Id(5)] int Delivered,
    [property: Id(6)] int ToVirk,
    [property: Id(7)] int ToPrint,
    [property: Id(8)] int ToNemSms,
    [property: Id(9)] int Returned,
    [property: Id(10)] int Failed,
    /// <summary>Letters that went elsewhere than first routed; they are counted in their state too.</summary>
    [property: Id(11)] int Rerouted,
    /// <summary>Copies to guardians and extra recipients, counted in the states above like any letter.</summary>
    [property: Id(12)] int Copies,
    /// <summary>Letters the sender cancelled before they were sent; a row whose letters were not made yet counts as one.</summary>
    [property: Id(13)] int Cancelled = 0);

[GenerateSerializer, Immutable, Alias("dp.BatchStatusView")]
public sealed record BatchStatusView(
    [property: Id(0)] Guid BatchId,
    [property: Id(1)] string SenderBatchId,
    [property: Id(2)] string SenderId,
    [property: Id(3)] string Label,
    [property: Id(4)] BatchPhase Phase,
    [property: Id(5)] BatchCounts Counts,
    /// <summary>Letters with a final state, over all letters (0..1).</summary>
    [property: Id(6)] double Progress,
    [property: Id(7)] DateTimeOffset AcceptedAt,
    [property: Id(8)] DateTimeOffset? SendAt,
    [property: Id(9)] DateTimeOffset? CompletedAt,
    /// <summary>Letters waiting to be sent, and delivered letters waiting to be archived.</summary>
    [property: Id(10)] int SendQueue,
    [property: Id(11)] int ArchiveQueue,
    [property: Id(12)] int Warnings);

/// <summary>One letter of a batch as the sender sees it.</summary>
[GenerateSerializer, Immutable, Alias("dp.LetterView")]
public sealed record LetterView(
    [property: Id(0)] int Row,
    [property: Id(1)] int Copy,
    [property: Id(2)] Guid? MessageUuid,
    [property: Id(3)] LetterState State,
    [property: Id(4)] DeliveryChannel? Channel,
    [property: Id(5)] string? ErrorCode,
    [property: Id(6)] string? ErrorText,
    /// <summary>What the sender can do about a failure.</summary>
    [property: Id(7)] string? Remedy);
