namespace DigitalPost.Contracts;

[GenerateSerializer, Alias("dp.DeliveryOutcomeKind")]
public enum DeliveryOutcomeKind { Positive, Negative, NoReceipt, TransportError, Virus }

[GenerateSerializer, Immutable, Alias("dp.DeliveryOutcome")]
public sealed record DeliveryOutcome(
    [property: Id(0)] Guid MessageUuid,
    [property: Id(1)] DeliveryOutcomeKind Kind,
    [property: Id(2)] DateTimeOffset At);

[GenerateSerializer, Alias("dp.ContactNoticeKind")]
public enum ContactNoticeKind { FirstWarning, SecondWarning, Forwarded, Deactivated, Reactivated }

/// <summary>Something the technical and business contacts of a receiver system must be told by e-mail.</summary>
[GenerateSerializer, Immutable, Alias("dp.ContactNotice")]
public sealed record ContactNotice(
    [property: Id(0)] ContactNoticeKind Kind,
    [property: Id(1)] Guid? MessageUuid,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string Detail);

[GenerateSerializer, Immutable, Alias("dp.ReceiverSystemEvent")]
public sealed record ReceiverSystemEvent([property: Id(0)] DateTimeOffset At, [property: Id(1)] string What);

[GenerateSerializer, Immutable, Alias("dp.ReceiverSystemStatus")]
public sealed record ReceiverSystemStatus(
    [property: Id(0)] string Cvr,
    [property: Id(1)] string SystemId,
    [property: Id(2)] bool Active,
    [property: Id(3)] DateTimeOffset? DeactivatedAt,
    [property: Id(4)] DateTimeOffset? LastPositiveAt,
    /// <summary>Start of the current run of failures with no positive receipt since.</summary>
    [property: Id(5)] DateTimeOffset? FailingSince,
    [property: Id(6)] int PositivesInWindow,
    [property: Id(7)] int FailuresInWindow,
    [property: Id(8)] IReadOnlyList<ReceiverSystemEvent> Events);
