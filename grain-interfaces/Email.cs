namespace DigitalPost.Contracts;

/// <summary>An e-mail waiting in the durable outbox. <see cref="Id"/> is its idempotency key.</summary>
[GenerateSerializer, Immutable, Alias("dp.OutboxEmail")]
public sealed record OutboxEmail(
    [property: Id(0)] string Id,
    [property: Id(1)] IReadOnlyList<string> To,
    [property: Id(2)] string Subject,
    [property: Id(3)] string Body,
    [property: Id(4)] DateTimeOffset CreatedAt);

[GenerateSerializer, Immutable, Alias("dp.OutboxStatus")]
public sealed record OutboxStatus(
    [property: Id(0)] int Pending,
    [property: Id(1)] long Sent,
    [property: Id(2)] DateTimeOffset? OldestPendingSince,
    [property: Id(3)] string? LastError);
