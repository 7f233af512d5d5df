using DigitalPost.Contracts;

namespace DigitalPost.Domain;

/// <summary>Decides where a message for an organisation goes. Pure: it sees a snapshot of the organisation.</summary>
public static class Router
{
    public static RouteDecision Route(
        IReadOnlyDictionary<string, ReceiverSystemEntry> systems,
        IReadOnlyDictionary<string, ContactPoint> contactPoints,
        RouteRequest request,
        IReadOnlyList<RoutingRule>? rules = null)
    {
        var primary = systems.Values.FirstOrDefault(s => s.Registration.IsPrimary);
        if (primary is null) return new(DeliveryTarget.Virk, "the organisation has no receiver system");

        if (request.ForwardFromSystemId is { } failing)
        {
            if (failing == primary.Registration.SystemId)
                return new(DeliveryTarget.Virk, $"forwarded from the failing primary receiver system {failing}");
            return primary.Active
                ? new(TargetOf(primary), $"forwarded from the failing receiver system {failing} to the primary")
                : new(DeliveryTarget.Virk, $"forwarded from the failing receiver system {failing}; the primary {primary.Registration.SystemId} is deactivated");
        }

        // By contact point, then by the tagged data the organisation has rules for, else the primary.
        ReceiverSystemEntry? SystemOf(string? contactPointId) =>
            contactPointId is not null && contactPoints.TryGetValue(contactPointId, out var contactPoint)
                ? systems.GetValueOrDefault(contactPoint.ReceiverSystemId) : null;
        ReceiverSystemEntry addressed;
        string why;
        if (SystemOf(request.ContactPointId) is { } byContactPoint)
            (addressed, why) = (byContactPoint, $"contact point {request.ContactPointId}");
        else if (RuleFor(rules, request.ContentData) is { } rule && SystemOf(rule.ContactPointId) is { } byRule)
            (addressed, why) = (byRule, $"routing rule {Describe(rule)}: contact point {rule.ContactPointId}");
        else
            (addressed, why) = (primary, request.ContactPointId is null
                ? "addressed to the CVR only: the primary receiver system"
                : $"unknown contact point {request.ContactPointId}: the primary receiver system");

        if (addressed.Active) return new(TargetOf(addressed), why);
        var deactivated = addressed.Registration.SystemId;
        if (!addressed.Registration.IsPrimary && primary.Active)
            return new(TargetOf(primary), $"receiver system {deactivated} is deactivated: the primary");
        return new(DeliveryTarget.Virk, primary == addressed
            ? $"the primary receiver system {deactivated} is deactivated"
            : $"receiver system {deactivated} and the primary {primary.Registration.SystemId} are deactivated");
    }

    /// <summary>The first rule whose prefix the message's case id or KLE number starts with.</summary>
    public static RoutingRule? RuleFor(IReadOnlyList<RoutingRule>? rules, ContentData? data) =>
        data is null ? null : rules?.FirstOrDefault(r =>
            (r.CaseIdPrefix is { } caseId && data.CaseId?.StartsWith(caseId, StringComparison.OrdinalIgnoreCase) == true)
            || (r.KleNumberPrefix is { } kle && data.KleNumber?.StartsWith(kle, StringComparison.Ordinal) == true));

    private static string Describe(RoutingRule rule) =>
        rule.CaseIdPrefix is { } caseId ? $"case id {caseId}*" : $"KLE {rule.KleNumberPrefix}*";

    private static DeliveryTarget TargetOf(ReceiverSystemEntry entry) =>
        new(DeliveryTargetKind.ReceiverSystem, entry.Registration.SystemId, entry.Registration.Endpoint, entry.Registration.IsPrimary,
            entry.Registration.MaxMessagesPerPush, entry.Registration.Protocol);
}
