using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

[GenerateSerializer, Alias("dp.RegistryState")]
public sealed class RegistryState
{
    [Id(0)] public Dictionary<string, Citizen> Citizens { get; set; } = [];
    [Id(1)] public Dictionary<string, Company> Companies { get; set; } = [];
}

/// <summary>The recipient registry: citizens and companies, looked up in bulk by the batches' recipient checks.</summary>
public sealed class RecipientRegistryGrain(
    [PersistentState("registry", StorageNames.Platform)] IPersistentState<RegistryState> state,
    TimeProvider time) : Grain, IRecipientRegistryGrain
{
    private Dictionary<string, string> _cvrByPNumber = [];

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        IndexPNumbers();
        return Task.CompletedTask;
    }

    public async Task<RegistryCounts> UpsertCitizens(IReadOnlyList<Citizen> citizens)
    {
        foreach (var citizen in citizens) state.State.Citizens[citizen.Cpr] = citizen;
        await state.WriteStateAsync();
        return Count();
    }

    public async Task<RegistryCounts> UpsertCompanies(IReadOnlyList<Company> companies)
    {
        foreach (var company in companies) state.State.Companies[company.Cvr] = company;
        await state.WriteStateAsync();
        IndexPNumbers();
        return Count();
    }

    [ReadOnly]
    public Task<IReadOnlyList<RecipientInfo>> Lookup(IReadOnlyList<RecipientQuery> queries)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        return Task.FromResult<IReadOnlyList<RecipientInfo>>([.. queries.Select(q => q.Kind == RecipientKind.Cpr ? Citizen(q.Id, today) : Company(q))]);
    }

    [ReadOnly]
    public Task<RegistryCounts> Counts() => Task.FromResult(Count());

    private RecipientInfo Citizen(string cpr, DateOnly today)
    {
        var age = Cpr.Check(cpr).BirthDate is { } birth ? Cpr.AgeOn(birth, today) : (int?)null;
        if (!state.State.Citizens.TryGetValue(cpr, out var c))
            return new(RecipientKind.Cpr, cpr, RecipientVerdict.Unknown, null, null, false, age, [], [], []);
        var verdict = c.Status == RegistrationStatus.Registered ? RecipientVerdict.DigitalPost : RecipientVerdict.NoActiveMailbox;
        return new(RecipientKind.Cpr, cpr, verdict, c.Name, c.Status, c.NemSms, age, c.Guardians, [], c.Address);
    }

    /// <summary>A company by CVR, or by P-number alone (the CVR is then found from the P-number).</summary>
    private RecipientInfo Company(RecipientQuery query)
    {
        var cvr = query.Id;
        if (string.IsNullOrEmpty(cvr) && query.PNumber is { } p) cvr = _cvrByPNumber.GetValueOrDefault(p) ?? "";
        if (!state.State.Companies.TryGetValue(cvr, out var c) || (query.PNumber is { } pn && !c.PNumbers.Contains(pn)))
            return new(RecipientKind.Cvr, cvr, RecipientVerdict.Unknown, null, null, false, null, [], [], []);
        return new(RecipientKind.Cvr, cvr, c.MailboxActive ? RecipientVerdict.DigitalPost : RecipientVerdict.NoActiveMailbox,
            c.Name, null, false, null, [], c.PNumbers, c.Address);
    }

    private RegistryCounts Count() => new(state.State.Citizens.Count, state.State.Companies.Count);

    private void IndexPNumbers() =>
        _cvrByPNumber = state.State.Companies.Values.SelectMany(c => c.PNumbers.Select(p => (p, c.Cvr))).ToDictionary(x => x.p, x => x.Cvr);
}
