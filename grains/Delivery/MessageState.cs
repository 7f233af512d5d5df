using DigitalPost.Contracts;

namespace DigitalPost.Grains;

/// <summary>What a message grain stores. Stored states are read back by this alias and these ids: they never change.</summary>
[GenerateSerializer, Alias("dp.MessageState")]
public sealed class MessageState
{
    [Id(0)] public Message? Message { get; set; }
    /// <summary>A hash of the submitted message: a resubmission with the same id must be the same message.</summary>
    [Id(1)] public string? Fingerprint { get; set; }
    [Id(2)] public MessageStatus Status { get; set; }
    [Id(3)] public DateTimeOffset AcceptedAt { get; set; }
    [Id(4)] public DeliveryTarget? Target { get; set; }
    [Id(5)] public DateTimeOffset? NextActionAt { get; set; }
    [Id(6)] public DateTimeOffset? ScheduledWakeUp { get; set; }
    /// <summary>Day 0 of the resend flow at the current receiver system.</summary>
    [Id(7)] public DateTimeOffset? FirstFailedAt { get; set; }
    [Id(8)] public bool FirstWarningSent { get; set; }
    [Id(9)] public bool SecondWarningSent { get; set; }
    /// <summary>The system this message was last forwarded away from (day 7); later routing keeps away from it.</summary>
    [Id(10)] public string? ForwardedFrom { get; set; }
    [Id(11)] public List<DeliveryAttempt> Attempts { get; set; } = [];
    [Id(12)] public List<MessageEvent> History { get; set; } = [];
    [Id(13)] public string? ErrorCode { get; set; }
    [Id(14)] public string? ErrorText { get; set; }
    /// <summary>The status last published to the message's batch.</summary>
    [Id(15)] public MessageStatus? Published { get; set; }
    /// <summary>The last move that took the message out of the Virk mailbox. Its batch counted it delivered when it
    /// reached the mailbox; what follows is the organisation's, so it is not published to the batch.</summary>
    [Id(16)] public Guid? LastVirkMove { get; set; }
}
