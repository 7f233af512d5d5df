namespace DigitalPost.Contracts;

/// <summary>Which rule deactivates a receiver system.</summary>
[GenerateSerializer, Alias("dp.DeactivationPolicy")]
public enum DeactivationPolicy
{
    /// <summary>Since release 49.0 (27 June 2022): only after 7 days without one positive business receipt.</summary>
    Current,
    /// <summary>Before release 49.0: on one negative receipt, or a missing one, within 7 days.</summary>
    Pre49,
}

[GenerateSerializer, Immutable, Alias("dp.OrganisationRegistration")]
public sealed record OrganisationRegistration(
    [property: Id(0)] string Name,
    /// <summary>Overrides the platform's default deactivation policy for this organisation only.</summary>
    [property: Id(1)] DeactivationPolicy? DeactivationPolicy = null);

/// <summary>How a receiver system takes its post: the protocol it registered (NgDP names the last two).</summary>
[GenerateSerializer, Alias("dp.ReceiverProtocol")]
public enum ReceiverProtocol
{
    /// <summary>The platform's own JSON envelope POSTed to the endpoint; receipts at <c>/api/receipts</c>.</summary>
    PlatformJson,
    /// <summary>NgDP's <c>REST_PUSH</c>: the MeMo XML POSTed to the endpoint; the receipt at
    /// <c>POST /apis/v1/memos/{id}/receipt</c>.</summary>
    RestPush,
    /// <summary>NgDP's <c>REST_PULL</c>: the system fetches its waiting MeMos at <c>/apis/v1/memos/</c> and answers there.</summary>
    RestPull,
}

/// <summary>A receiver system (modtagersystem) as its organisation registers it.</summary>
[GenerateSerializer, Immutable, Alias("dp.ReceiverSystemRegistration")]
public sealed record ReceiverSystemRegistration(
    [property: Id(0)] string SystemId,
    /// <summary>Where pushes go; a pull system (<see cref="ReceiverProtocol.RestPull"/>) is never called and needs none.</summary>
    [property: Id(1)] Uri? Endpoint,
    [property: Id(2)] string TechnicalContact,
    [property: Id(3)] string? BusinessContact = null,
    [property: Id(4)] bool IsPrimary = false,
    /// <summary>How many messages the system takes in one push (a JSON array of envelopes); 1 is one envelope per push.</summary>
    [property: Id(5)] int MaxMessagesPerPush = 1,
    [property: Id(6)] ReceiverProtocol Protocol = ReceiverProtocol.PlatformJson);

/// <summary>A contact point (kontaktpunkt): a named entry of the organisation, tied to one receiver system.</summary>
[GenerateSerializer, Immutable, Alias("dp.ContactPoint")]
public sealed record ContactPoint(
    [property: Id(0)] string ContactPointId,
    [property: Id(1)] string Name,
    [property: Id(2)] string ReceiverSystemId,
    [property: Id(3)] bool VisibleToCitizens = true,
    [property: Id(4)] bool VisibleToAuthorities = true);

[GenerateSerializer, Immutable, Alias("dp.ReceiverSystemEntry")]
public sealed record ReceiverSystemEntry([property: Id(0)] ReceiverSystemRegistration Registration, [property: Id(1)] bool Active);

[GenerateSerializer, Immutable, Alias("dp.OrganisationView")]
public sealed record OrganisationView(
    [property: Id(0)] string Cvr,
    [property: Id(1)] string Name,
    [property: Id(2)] DeactivationPolicy? DeactivationPolicy,
    [property: Id(3)] IReadOnlyList<ReceiverSystemEntry> ReceiverSystems,
    [property: Id(4)] IReadOnlyList<ContactPoint> ContactPoints,
    [property: Id(5)] int VirkMailboxCount,
    [property: Id(6)] IReadOnlyList<RoutingRule>? RoutingRules = null);

/// <summary>A rule for post to the organisation that names no known contact point: a message whose content data
/// carries a case id or a KLE number starting with the rule's prefix goes through the rule's contact point. Rules are
/// tried in order; none matching leaves the primary receiver system.</summary>
[GenerateSerializer, Immutable, Alias("dp.RoutingRule")]
public sealed record RoutingRule(
    [property: Id(0)] string ContactPointId,
    [property: Id(1)] string? CaseIdPrefix = null,
    [property: Id(2)] string? KleNumberPrefix = null);

/// <summary>A message that landed in the organisation's Virk mailbox instead of a receiver system.</summary>
[GenerateSerializer, Immutable, Alias("dp.VirkMailItem")]
public sealed record VirkMailItem(
    [property: Id(0)] Guid MessageUuid,
    [property: Id(1)] DateTimeOffset DeliveredAt,
    [property: Id(2)] string? OriginalContactPointId,
    [property: Id(3)] string Reason);

[GenerateSerializer, Immutable, Alias("dp.RouteRequest")]
public sealed record RouteRequest(
    [property: Id(0)] string? ContactPointId,
    /// <summary>Set when the message is forwarded away from this system (day 7 of the resend flow).</summary>
    [property: Id(1)] string? ForwardFromSystemId = null,
    /// <summary>The message's tagged data, which the organisation's routing rules read.</summary>
    [property: Id(2)] ContentData? ContentData = null);

[GenerateSerializer, Immutable, Alias("dp.RouteDecision")]
public sealed record RouteDecision([property: Id(0)] DeliveryTarget Target, [property: Id(1)] string Reason);

/// <summary>What a receiver-system grain needs from its organisation to act: where to write, which rule applies.</summary>
[GenerateSerializer, Immutable, Alias("dp.ReceiverSystemSettings")]
public sealed record ReceiverSystemSettings(
    [property: Id(0)] ReceiverSystemRegistration Registration,
    [property: Id(1)] DeactivationPolicy? PolicyOverride);

public static class ReceiverSystemKey
{
    public static string Of(string cvr, string systemId) => $"{cvr}/{systemId}";

    public static (string Cvr, string SystemId) Parse(string key)
    {
        var slash = key.IndexOf('/');
        if (slash <= 0) throw new ArgumentException($"Receiver system key '{key}' is not 'cvr/systemId'.", nameof(key));
        return (key[..slash], key[(slash + 1)..]);
    }
}
