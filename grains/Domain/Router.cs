using DigitalPost.Contracts;

namespace DigitalPost.Domain;

/// <summary>Decides where a message for an organisation goes. Pure: it sees a snapshot of the organisation.</summary>
public static class Router
{
    public static RouteDecision Route(
        IReadOnlyDictionary<string, ReceiverSystemEntry> systems,
        IReadOnlyDictionary<string, ContactPoint> contactPoints,
        RouteRequest request)
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

        ReceiverSystemEntry addressed;
        string why;
        if (request.ContactPointId is null)
        {
            addressed = primary;
            why = "addressed to the CVR only: the primary receiver system";
        }
        else if (!contactPoints.TryGetValue(request.ContactPointId, out var contactPoint)
                 || !systems.TryGetValue(contactPoint.ReceiverSystemId, out addressed!))
        {
            addressed = primary;
            why = $"unknown contact point {request.ContactPointId}: the primary receiver system";
        }
        else
        {
            why = $"contact point {contactPoint.ContactPointId}";
        }

        if (addressed.Active) return new(TargetOf(addressed), why);
        var deactivated = addressed.Registration.SystemId;
        if (!addressed.Registration.IsPrimary && primary.Active)
            return new(TargetOf(primary), $"receiver system {deactivated} is deactivated: the primary");
        return new(DeliveryTarget.Virk, primary == addressed
            ? $"the primary receiver system {deactivated} is deactivated"
            : $"receiver system {deactivated} and the primary {primary.Registration.SystemId} are deactivated");
    }

    private static DeliveryTarget TargetOf(ReceiverSystemEntry entry) =>
        new(DeliveryTargetKind.ReceiverSystem, entry.Registration.SystemId, entry.Registration.Endpoint, entry.Registration.IsPrimary,
            entry.Registration.MaxMessagesPerPush);
}
