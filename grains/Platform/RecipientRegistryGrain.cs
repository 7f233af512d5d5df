using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

/// <summary>The recipient registry for other services, through an Orleans client: a front to
/// <see cref="IRecipientRegistryStore"/> on every silo, holding nothing itself. What runs in the silo (the batches, the
/// HTTP API with its streamed loads) uses the store directly.</summary>
[StatelessWorker, Reentrant]
public sealed class RecipientRegistryGrain(IRecipientRegistryStore store) : Grain, IRecipientRegistryGrain
{
    public Task<RegistryCounts> UpsertCitizens(IReadOnlyList<Citizen> citizens) => store.UpsertCitizens(citizens);

    public Task<RegistryCounts> UpsertCompanies(IReadOnlyList<Company> companies) => store.UpsertCompanies(companies);

    public Task<IReadOnlyList<RecipientInfo>> Lookup(IReadOnlyList<RecipientQuery> queries) => store.Lookup(queries);

    public Task<RegistryCounts> Counts() => store.Counts();
}
