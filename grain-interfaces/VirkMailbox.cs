namespace DigitalPost.Contracts;

/// <summary>Which letters of a Virk mailbox (Virk-postkassen) a listing or a move takes: arrived in [From, To), first
/// addressed to a contact point, or sent there for a reason containing a text. Every part is optional.</summary>
[GenerateSerializer, Immutable, Alias("dp.VirkMailboxFilter")]
public sealed record VirkMailboxFilter(
    [property: Id(0)] DateTimeOffset? From = null,
    [property: Id(1)] DateTimeOffset? To = null,
    [property: Id(2)] string? OriginalContactPointId = null,
    [property: Id(3)] string? ReasonContains = null)
{
    public static readonly VirkMailboxFilter None = new();
}

[GenerateSerializer, Immutable, Alias("dp.VirkMailboxPage")]
public sealed record VirkMailboxPage([property: Id(0)] int Total, [property: Id(1)] IReadOnlyList<VirkMailItem> Items);

/// <summary>Where moved letters go: through one chosen contact point, or each through the contact point it was first
/// addressed to (the primary receiver system when it had none).</summary>
[GenerateSerializer, Immutable, Alias("dp.VirkMoveTarget")]
public sealed record VirkMoveTarget([property: Id(0)] string? ContactPointId, [property: Id(1)] bool ToOriginalContactPoint)
{
    public string Describe() => ContactPointId is { } id ? $"contact point {id}" : "each letter's original contact point";
}

/// <summary>A move of letters out of an organisation's Virk mailbox: either the listed messages or every letter the
/// filter takes.</summary>
[GenerateSerializer, Immutable, Alias("dp.VirkMoveRequest")]
public sealed record VirkMoveRequest(
    [property: Id(0)] IReadOnlyList<Guid>? MessageUuids,
    [property: Id(1)] bool All,
    [property: Id(2)] VirkMailboxFilter Filter,
    [property: Id(3)] VirkMoveTarget Target);

/// <summary>One move, as its history lists it (flytning af post fra Virk-postkassen): which letters, when, where to and
/// who moved them; <see cref="Redelivered"/> counts the letters handed back to delivery so far.</summary>
[GenerateSerializer, Immutable, Alias("dp.VirkMove")]
public sealed record VirkMove(
    [property: Id(0)] Guid MoveId,
    [property: Id(1)] string Cvr,
    [property: Id(2)] DateTimeOffset MovedAt,
    [property: Id(3)] string MovedBy,
    [property: Id(4)] VirkMoveTarget Target,
    [property: Id(5)] int Moved,
    [property: Id(6)] int Redelivered);

/// <summary>A letter of a move, and the contact point it is delivered through (null: the primary receiver system).</summary>
[GenerateSerializer, Immutable, Alias("dp.VirkMovedLetter")]
public sealed record VirkMovedLetter([property: Id(0)] Guid MessageUuid, [property: Id(1)] string? ContactPointId);
