using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Infrastructure;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

[GenerateSerializer, Alias("dp.OrganisationState")]
public sealed class OrganisationState
{
    [Id(0)] public string? Name { get; set; }
    [Id(1)] public DeactivationPolicy? DeactivationPolicy { get; set; }
    [Id(2)] public Dictionary<string, ReceiverSystemEntry> ReceiverSystems { get; set; } = [];
    [Id(3)] public Dictionary<string, ContactPoint> ContactPoints { get; set; } = [];
    /// <summary>The Virk mailbox as this grain kept it before it became a store of its own (IVirkMailboxStore): moved
    /// there when the grain is activated.</summary>
    [Id(4)] public List<VirkMailItem> VirkMailbox { get; set; } = [];
    [Id(5)] public List<RoutingRule> RoutingRules { get; set; } = [];
}

/// <summary>An organisation's contact structure and the routing cache of its receiver systems' states. It calls no
/// other grain, so message and receiver-system grains may call it without risk of a cycle.</summary>
public sealed class OrganisationGrain(
    [PersistentState("organisation", StorageNames.Platform)] IPersistentState<OrganisationState> state,
    IVirkMailboxStore virkMailboxes) : Grain, IOrganisationGrain
{
    private OrganisationState S => state.State;
    private string CvrNumber => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.VirkMailbox.Count == 0) return;
        foreach (var item in S.VirkMailbox) await virkMailboxes.Add(CvrNumber, item);
        S.VirkMailbox.Clear();
        await state.WriteStateAsync(cancellationToken);
    }

    public async Task<OrganisationView> Register(OrganisationRegistration registration)
    {
        var errors = new List<ValidationError>();
        if (Cvr.Check(CvrNumber) is { } cvrError) errors.Add(new("cvr", cvrError));
        if (string.IsNullOrWhiteSpace(registration.Name)) errors.Add(new("name", "is missing"));
        if (errors.Count > 0) throw new ValidationException(errors);
        S.Name = registration.Name;
        S.DeactivationPolicy = registration.DeactivationPolicy;
        await state.WriteStateAsync();
        return await View();
    }

    public async Task<OrganisationView> UpsertReceiverSystem(ReceiverSystemRegistration registration)
    {
        RequireRegistered();
        var existing = S.ReceiverSystems.GetValueOrDefault(registration.SystemId);
        var others = S.ReceiverSystems.Count - (existing is null ? 0 : 1);
        var errors = OrganisationRules.ValidateReceiverSystem(registration, others);
        if (existing?.Registration.IsPrimary == true && !registration.IsPrimary)
            errors = [.. errors, new("isPrimary", $"{registration.SystemId} is the primary receiver system; make another system primary instead")];
        if (errors.Count > 0) throw new ValidationException(errors);

        // Exactly one primary: a new primary takes over, and the first system is primary whatever it says.
        var primary = registration.IsPrimary || !S.ReceiverSystems.Values.Any(s => s.Registration.IsPrimary && s.Registration.SystemId != registration.SystemId);
        if (primary)
            foreach (var (id, entry) in S.ReceiverSystems.Where(s => s.Value.Registration.IsPrimary && s.Key != registration.SystemId).ToList())
                S.ReceiverSystems[id] = entry with { Registration = entry.Registration with { IsPrimary = false } };
        S.ReceiverSystems[registration.SystemId] = new ReceiverSystemEntry(registration with { IsPrimary = primary }, existing?.Active ?? true);
        await state.WriteStateAsync();
        return await View();
    }

    public async Task<OrganisationView> UpsertContactPoint(ContactPoint contactPoint)
    {
        RequireRegistered();
        var errors = new List<ValidationError>();
        if (string.IsNullOrWhiteSpace(contactPoint.ContactPointId)) errors.Add(new("contactPointId", "is missing"));
        if (string.IsNullOrWhiteSpace(contactPoint.Name)) errors.Add(new("name", "is missing"));
        if (contactPoint.ReceiverSystemId is null) errors.Add(new("receiverSystemId", "is missing"));
        else if (!S.ReceiverSystems.ContainsKey(contactPoint.ReceiverSystemId))
            errors.Add(new("receiverSystemId", $"'{contactPoint.ReceiverSystemId}' is not a receiver system of {CvrNumber}"));
        if (errors.Count > 0) throw new ValidationException(errors);
        S.ContactPoints[contactPoint.ContactPointId] = contactPoint;
        await state.WriteStateAsync();
        return await View();
    }

    public async Task<OrganisationView?> GetView() => S.Name is null ? null : await View();

    [ReadOnly]
    public Task<RouteDecision> Route(RouteRequest request) => Task.FromResult(Router.Route(S.ReceiverSystems, S.ContactPoints, request, S.RoutingRules));

    [ReadOnly]
    public Task<ReceiverSystemSettings?> GetReceiverSystemSettings(string systemId) =>
        Task.FromResult(S.ReceiverSystems.TryGetValue(systemId, out var entry) ? new ReceiverSystemSettings(entry.Registration, S.DeactivationPolicy) : null);

    public async Task ReceiverSystemStateChanged(string systemId, bool active)
    {
        if (!S.ReceiverSystems.TryGetValue(systemId, out var entry) || entry.Active == active) return;
        S.ReceiverSystems[systemId] = entry with { Active = active };
        await state.WriteStateAsync();
    }

    public async Task<OrganisationView> SetRoutingRules(IReadOnlyList<RoutingRule> rules)
    {
        RequireRegistered();
        var errors = OrganisationRules.ValidateRoutingRules(rules, S.ContactPoints.Keys);
        if (errors.Count > 0) throw new ValidationException(errors);
        S.RoutingRules = [.. rules];
        await state.WriteStateAsync();
        return await View();
    }

    [ReadOnly]
    public Task<VirkMailboxPage> ListVirkMailbox(VirkMailboxFilter filter, int skip, int take) => virkMailboxes.List(CvrNumber, filter, skip, take);

    private void RequireRegistered()
    {
        if (S.Name is null) throw new ValidationException([new("cvr", $"organisation {CvrNumber} is not registered")]);
    }

    private async Task<OrganisationView> View() => new(CvrNumber, S.Name!, S.DeactivationPolicy,
        [.. S.ReceiverSystems.Values.OrderBy(s => s.Registration.SystemId)],
        [.. S.ContactPoints.Values.OrderBy(c => c.ContactPointId)], await virkMailboxes.Count(CvrNumber), [.. S.RoutingRules]);
}
