namespace DigitalPost.Contracts;

[GenerateSerializer, Alias("dp.MessageStatus")]
public enum MessageStatus
{
    /// <summary>Stored, not yet pushed (for example waiting for its valør date).</summary>
    Accepted,
    /// <summary>Pushed to a receiver system; its business receipt is awaited.</summary>
    AwaitingReceipt,
    /// <summary>In the resend flow (gensendelsesflow): the current receiver system failed.</summary>
    Failing,
    Delivered,
    DeliveredToVirk,
    /// <summary>The flow was stopped (a receipt reported a virus): not retried, not forwarded.</summary>
    Stopped,
    /// <summary>Physical post: queued at the remote-print provider (fjernprint).</summary>
    SentToPrint,
    Printed,
    HandedToPostalService,
    SentAsNemSms,
}

public static class MessageStatuses
{
    public static bool IsFinal(this MessageStatus status) => status is MessageStatus.Delivered or MessageStatus.DeliveredToVirk
        or MessageStatus.Stopped or MessageStatus.HandedToPostalService or MessageStatus.SentAsNemSms;

    /// <summary>The message's status as its batch shows the letter.</summary>
    public static LetterState ToLetterState(this MessageStatus status) => status switch
    {
        MessageStatus.Accepted or MessageStatus.AwaitingReceipt => LetterState.Queued,
        MessageStatus.Failing => LetterState.Failing,
        MessageStatus.Delivered => LetterState.Delivered,
        MessageStatus.DeliveredToVirk => LetterState.DeliveredToVirk,
        MessageStatus.Stopped => LetterState.Failed,
        MessageStatus.SentToPrint => LetterState.SentToPrint,
        MessageStatus.Printed => LetterState.Printed,
        MessageStatus.HandedToPostalService => LetterState.HandedToPostalService,
        MessageStatus.SentAsNemSms => LetterState.SentAsNemSms,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };
}

[GenerateSerializer, Alias("dp.DeliveryTargetKind")]
public enum DeliveryTargetKind { ReceiverSystem, VirkMailbox, CitizenMailbox, RemotePrint, NemSms }

[GenerateSerializer, Immutable, Alias("dp.DeliveryTarget")]
public sealed record DeliveryTarget(
    [property: Id(0)] DeliveryTargetKind Kind,
    [property: Id(1)] string? ReceiverSystemId = null,
    [property: Id(2)] Uri? Endpoint = null,
    [property: Id(3)] bool IsPrimary = false,
    [property: Id(4)] int MaxMessagesPerPush = 1,
    [property: Id(5)] ReceiverProtocol Protocol = ReceiverProtocol.PlatformJson)
{
    public static readonly DeliveryTarget Virk = new(DeliveryTargetKind.VirkMailbox);
    public static readonly DeliveryTarget CitizenMailbox = new(DeliveryTargetKind.CitizenMailbox);
    public static readonly DeliveryTarget RemotePrint = new(DeliveryTargetKind.RemotePrint);
    public static readonly DeliveryTarget NemSms = new(DeliveryTargetKind.NemSms);

    public override string ToString() => Kind switch
    {
        DeliveryTargetKind.ReceiverSystem => $"receiver system {ReceiverSystemId}",
        DeliveryTargetKind.VirkMailbox => "Virk mailbox",
        DeliveryTargetKind.CitizenMailbox => "the citizen's Digital Post mailbox",
        DeliveryTargetKind.RemotePrint => "remote print (physical post)",
        _ => "NemSMS",
    };
}

[GenerateSerializer, Alias("dp.AttemptOutcome")]
public enum AttemptOutcome { Pending, Positive, Negative, Virus, NoReceipt, TransportError }

[GenerateSerializer, Immutable, Alias("dp.DeliveryAttempt")]
public sealed record DeliveryAttempt(
    [property: Id(0)] int Number,
    [property: Id(1)] string ReceiverSystemId,
    [property: Id(2)] DateTimeOffset PushedAt,
    [property: Id(3)] AttemptOutcome Outcome = AttemptOutcome.Pending,
    [property: Id(4)] DateTimeOffset? CompletedAt = null,
    [property: Id(5)] string? ErrorCode = null,
    [property: Id(6)] string? ErrorText = null);

[GenerateSerializer, Alias("dp.MessageEventKind")]
public enum MessageEventKind
{
    Accepted, Routed, Pushed, PushFailed, ReceiptPositive, ReceiptNegative, ReceiptMissing,
    FirstWarningSent, SecondWarningSent, Forwarded, Rerouted, DeliveredToVirk, StoppedForVirus, SenderNotified, LateReceipt,
    DeliveredToMailbox, SentToPrint, Printed, HandedToPostalService, SentAsNemSms,
    /// <summary>An organisation administrator moved the message out of the Virk mailbox to a receiver system.</summary>
    MovedFromVirk,
}

[GenerateSerializer, Immutable, Alias("dp.MessageEvent")]
public sealed record MessageEvent(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] MessageEventKind Kind,
    [property: Id(2)] string Detail,
    [property: Id(3)] string? ReceiverSystemId = null);

[GenerateSerializer, Immutable, Alias("dp.MessageStatusView")]
public sealed record MessageStatusView(
    [property: Id(0)] Guid MessageUuid,
    [property: Id(1)] MessageStatus Status,
    [property: Id(2)] string RecipientId,
    [property: Id(3)] string? ContactPointId,
    [property: Id(4)] DeliveryTarget? CurrentTarget,
    [property: Id(5)] DateTimeOffset AcceptedAt,
    [property: Id(6)] DateTimeOffset? NextActionAt,
    [property: Id(7)] DateTimeOffset? FirstFailedAt,
    [property: Id(8)] IReadOnlyList<DeliveryAttempt> Attempts,
    [property: Id(9)] IReadOnlyList<MessageEvent> History,
    [property: Id(10)] string? ErrorCode,
    [property: Id(11)] string? ErrorText,
    /// <summary>The sending authority's CVR (the header's sender), which alone may read the message.</summary>
    [property: Id(12)] string? SenderId = null,
    /// <summary>Replies to this letter, as the reply store links them (filled by the API, not the grain).</summary>
    [property: Id(13)] IReadOnlyList<LinkedReply>? Replies = null)
{
    public bool IsFinal => Status.IsFinal();
}

/// <summary>A reply linked to the letter it answers.</summary>
[GenerateSerializer, Immutable, Alias("dp.LinkedReply")]
public sealed record LinkedReply([property: Id(0)] Guid ReplyUuid, [property: Id(1)] DateTimeOffset ReceivedAt);

/// <summary>What a reply to a letter must agree with: who sent the letter and to whom, whether it may be answered
/// and until when. <see cref="SenderSystemId"/> and <see cref="Batch"/> are set for a merge letter, whose reply is
/// archived in the case of the letter.</summary>
[GenerateSerializer, Immutable, Alias("dp.ReplyTerms")]
public sealed record ReplyTerms(
    [property: Id(0)] Guid MessageUuid,
    [property: Id(1)] string SenderCvr,
    [property: Id(2)] string RecipientId,
    [property: Id(3)] RecipientIdType RecipientKind,
    [property: Id(4)] bool ReplyAllowed,
    [property: Id(5)] DateTimeOffset? ReplyBy,
    [property: Id(6)] string Label,
    [property: Id(7)] string? SenderSystemId = null,
    [property: Id(8)] BatchRef? Batch = null);

[GenerateSerializer, Alias("dp.SubmitOutcome")]
public enum SubmitOutcome { Accepted, Duplicate, Conflict }

[GenerateSerializer, Immutable, Alias("dp.SubmitResult")]
public sealed record SubmitResult([property: Id(0)] Guid MessageUuid, [property: Id(1)] SubmitOutcome Outcome, [property: Id(2)] MessageStatus Status);

/// <summary>A business receipt (forretningskvittering) from a receiver system, keyed by messageUUID.</summary>
[GenerateSerializer, Immutable, Alias("dp.BusinessReceipt")]
public sealed record BusinessReceipt(
    [property: Id(0)] Guid MessageUuid,
    [property: Id(1)] bool Positive,
    [property: Id(2)] string? ErrorCode = null,
    [property: Id(3)] string? ErrorText = null)
{
    /// <summary>The error code by which a negative receipt reports a virus: it stops the resend flow.</summary>
    public const string VirusErrorCode = "VIRUS";

    public bool ReportsVirus => !Positive && string.Equals(ErrorCode, VirusErrorCode, StringComparison.OrdinalIgnoreCase);
}

[GenerateSerializer, Alias("dp.ReceiptOutcome")]
public enum ReceiptOutcome
{
    Applied,
    /// <summary>The message already had its final state: the receipt changed nothing.</summary>
    Duplicate,
    /// <summary>It came after the attempt it answers had timed out; recorded, and applied if positive.</summary>
    Late,
    UnknownMessage,
    /// <summary>Refused: the receiver system that sent it was never pushed the message. Nothing changed.</summary>
    NotPushedToThisSystem,
}
