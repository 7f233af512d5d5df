using DigitalPost.Contracts;

namespace DigitalPost.Domain;

/// <summary>The rules of moving post out of a Virk mailbox (seed 001): what a move may take, and where to.</summary>
public static class VirkMoves
{
    /// <summary>The most letters a move may list by id; a larger move takes them all, or all a filter selects.</summary>
    public const int MaxListed = 100_000;

    public static bool Takes(VirkMailboxFilter filter, VirkMailItem item) =>
        (filter.From is not { } from || item.DeliveredAt >= from)
        && (filter.To is not { } to || item.DeliveredAt < to)
        && (filter.OriginalContactPointId is not { } contactPoint || item.OriginalContactPointId == contactPoint)
        && (filter.ReasonContains is not { } text || item.Reason.Contains(text, StringComparison.OrdinalIgnoreCase));

    /// <summary>The contact point a moved letter is delivered through; null sends it to the primary receiver system.</summary>
    public static string? ContactPointOf(VirkMoveTarget target, VirkMailItem item) =>
        target.ToOriginalContactPoint ? item.OriginalContactPointId : target.ContactPointId;

    /// <summary>What is wrong with a move of an organisation's post, by the field of the request that is wrong. A chosen
    /// contact point must be visible to authorities and lead to an active receiver system: otherwise the letters would
    /// only come back to the mailbox.</summary>
    public static IReadOnlyList<ValidationError> Validate(VirkMoveRequest request, IReadOnlyList<ContactPoint> contactPoints,
        IReadOnlyList<ReceiverSystemEntry> receiverSystems)
    {
        var errors = new List<ValidationError>();
        var listed = request.MessageUuids is { Count: > 0 };
        if (listed == request.All)
            errors.Add(new("messageUuids", "give either messageUuids (the letters to move) or \"all\": true, not both and not neither"));
        if (request.MessageUuids is { Count: > MaxListed } many)
            errors.Add(new("messageUuids", $"lists {many.Count:N0} letters; at most {MaxListed:N0} a move (move them all, or by a filter)"));
        if (request.Filter is { From: { } from, To: { } to } && from >= to)
            errors.Add(new("filter.to", $"{to:O} is not after filter.from {from:O}"));

        var target = request.Target;
        if ((target.ContactPointId is not null) == target.ToOriginalContactPoint)
            errors.Add(new("contactPointId", "give either contactPointId or \"toOriginalContactPoint\": true, not both and not neither"));
        else if (target.ContactPointId is { } id)
        {
            var contactPoint = contactPoints.FirstOrDefault(c => c.ContactPointId == id);
            var system = receiverSystems.FirstOrDefault(s => s.Registration.SystemId == contactPoint?.ReceiverSystemId);
            if (contactPoint is null) errors.Add(new("contactPointId", $"'{id}' is not a contact point of the organisation"));
            else if (!contactPoint.VisibleToAuthorities) errors.Add(new("contactPointId", $"'{id}' is not visible to authorities"));
            else if (system is null || !system.Active)
                errors.Add(new("contactPointId", $"'{id}' leads to receiver system '{contactPoint.ReceiverSystemId}', which is deactivated; reactivate it first"));
        }
        else if (!receiverSystems.Any(s => s.Active))
            errors.Add(new("toOriginalContactPoint", "the organisation has no active receiver system to deliver to"));
        return errors;
    }
}
