using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace DigitalPost.Tests.Postgres;

/// <summary>The recipient registry's two stores, held to the same answers: the in-memory default and the PostgreSQL
/// tables (COPY into a temporary table, then an upsert, per chunk).</summary>
public sealed class RecipientRegistryStoreTests(PostgresServerFixture postgres) : IClassFixture<PostgresServerFixture>, IAsyncLifetime
{
    private static readonly DateTimeOffset Today = new(2026, 1, 5, 8, 0, 0, TimeSpan.Zero);
    private readonly List<NpgsqlDataSource> _databases = [];

    private async Task<IRecipientRegistryStore> Store(string kind)
    {
        var time = new FakeTimeProvider(Today);
        if (kind == "memory") return new MemoryRecipientRegistryStore(time);
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        await new PostgresSchema(connectionString).ApplyAsync();
        var db = NpgsqlDataSource.Create(connectionString);
        _databases.Add(db);
        return new PostgresRecipientRegistryStore(db, time);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var db in _databases) await db.DisposeAsync();
    }

    private static Citizen Citizen(string cpr, string name, RegistrationStatus status = RegistrationStatus.Registered, bool nemSms = false, string[]? guardians = null) =>
        new(cpr, name, status, nemSms, guardians ?? [], [$"{name}s vej 1", "1000 København K"]);

    private static RecipientQuery Cpr(string cpr) => new(RecipientKind.Cpr, cpr);
    private static RecipientQuery Cvr(string cvr, string? pNumber = null) => new(RecipientKind.Cvr, cvr, pNumber);

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task Citizens_are_upserted_by_CPR_and_looked_up_with_their_verdict_and_age_from_the_number(string kind)
    {
        var store = await Store(kind);
        var loaded = await store.UpsertCitizens([
            Citizen("0101701234", "Anna Andersen", nemSms: true),
            Citizen("1406114003", "Sofie Lund", RegistrationStatus.NotYetConfirmed, guardians: ["0208832018", "1709811009"]),
            Citizen("2509440002", "Ib Ærenlund", RegistrationStatus.Exempt),
        ]);
        Assert.Equal(new RegistryCounts(3, 0), loaded);

        // Replacing one and adding one: the count grows by the new one only.
        var replaced = await store.UpsertCitizens([Citizen("2509440002", "Ib Ærenlund", RegistrationStatus.Closed), Citizen("0303821007", "Mads Østergaard")]);
        Assert.Equal(new RegistryCounts(4, 0), replaced);

        var found = await store.Lookup([Cpr("1406114003"), Cpr("0101701234"), Cpr("2509440002"), Cpr("3112999999"), Cpr("0101701234")]);

        Assert.Equal(["1406114003", "0101701234", "2509440002", "3112999999", "0101701234"], found.Select(f => f.Id));
        var sofie = found[0];
        Assert.Equal((RecipientVerdict.NoActiveMailbox, RegistrationStatus.NotYetConfirmed, 14, true), (sofie.Verdict, sofie.Status, sofie.Age, sofie.IsMinor));
        Assert.Equal(["0208832018", "1709811009"], sofie.Guardians);
        var anna = found[1];
        Assert.Equal((RecipientVerdict.DigitalPost, "Anna Andersen", true, 56), (anna.Verdict, anna.Name, anna.NemSms, anna.Age));
        Assert.Equal(["Anna Andersens vej 1", "1000 København K"], anna.Address);
        Assert.Equal((RecipientVerdict.NoActiveMailbox, RegistrationStatus.Closed), (found[2].Verdict, found[2].Status));
        // Unknown, but the CPR number still gives the age (1999 by its 7th digit).
        Assert.Equal((RecipientKind.Cpr, RecipientVerdict.Unknown, (string?)null, 26), (found[3].Kind, found[3].Verdict, found[3].Name, found[3].Age));
        Assert.Equal(anna, found[4]);
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task A_CPR_number_given_twice_in_one_call_is_stored_once_as_the_last_gives_it(string kind)
    {
        var store = await Store(kind);

        var counts = await store.UpsertCitizens([Citizen("0101701234", "Først"), Citizen("0101701234", "Sidst", RegistrationStatus.Exempt)]);

        Assert.Equal(1, counts.Citizens);
        var found = Assert.Single(await store.Lookup([Cpr("0101701234")]));
        Assert.Equal(("Sidst", RegistrationStatus.Exempt), (found.Name, found.Status));
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task Companies_are_found_by_CVR_by_CVR_and_own_P_number_and_by_P_number_alone(string kind)
    {
        var store = await Store(kind);
        var counts = await store.UpsertCompanies([
            new Company("31000009", "Fjordens Tømrer ApS", true, ["1012345679", "1012345678"], ["Havnegade 7", "6700 Esbjerg"]),
            new Company("42000000", "Bageriet Kornet I/S", false, [], ["Torvet 2", "4000 Roskilde"]),
        ]);
        Assert.Equal(new RegistryCounts(0, 2), counts);

        var found = await store.Lookup([
            Cvr("31000009"), Cvr("31000009", "1012345678"), Cvr("", "1012345679"), Cvr("42000000"),
            Cvr("42000000", "1012345678"), Cvr("", "1099999999"), Cvr("12345674"),
        ]);

        Assert.Equal((RecipientVerdict.DigitalPost, "Fjordens Tømrer ApS"), (found[0].Verdict, found[0].Name));
        Assert.Equal(["1012345678", "1012345679"], found[0].PNumbers);
        Assert.Equal(["Havnegade 7", "6700 Esbjerg"], found[0].Address);
        Assert.Equal(found[0], found[1]);
        // By P-number alone: the answer names the company's CVR.
        Assert.Equal(found[0], found[2]);
        Assert.Equal((RecipientVerdict.NoActiveMailbox, "42000000"), (found[3].Verdict, found[3].Id));
        // Another company's P-number: no such production unit at this company.
        Assert.Equal((RecipientVerdict.Unknown, "42000000", (string?)null), (found[4].Verdict, found[4].Id, found[4].Name));
        Assert.Equal((RecipientVerdict.Unknown, ""), (found[5].Verdict, found[5].Id));
        Assert.Equal((RecipientKind.Cvr, RecipientVerdict.Unknown, "12345674"), (found[6].Kind, found[6].Verdict, found[6].Id));
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task Loading_a_company_again_replaces_its_P_numbers_and_a_P_number_given_to_another_company_moves(string kind)
    {
        var store = await Store(kind);
        await store.UpsertCompanies([
            new Company("31000009", "Fjordens Tømrer ApS", true, ["1012345678", "1012345679"], []),
            new Company("42000000", "Bageriet Kornet I/S", true, ["1022222222"], []),
        ]);

        var counts = await store.UpsertCompanies([
            new Company("31000009", "Fjordens Tømrer A/S", false, ["1012345670"], []),
            new Company("42000000", "Bageriet Kornet I/S", true, ["1022222222", "1012345679"], []),
        ]);

        Assert.Equal(new RegistryCounts(0, 2), counts);
        var found = await store.Lookup([Cvr("31000009"), Cvr("", "1012345678"), Cvr("", "1012345679"), Cvr("31000009", "1012345670")]);
        Assert.Equal(("Fjordens Tømrer A/S", RecipientVerdict.NoActiveMailbox), (found[0].Name, found[0].Verdict));
        Assert.Equal(["1012345670"], found[0].PNumbers);
        Assert.Equal(RecipientVerdict.Unknown, found[1].Verdict);
        Assert.Equal("42000000", found[2].Id);
        Assert.Equal(["1012345679", "1022222222"], found[2].PNumbers);
        Assert.Equal(found[0], found[3]);

        // A P-number claimed by a later company of the same call moves to it.
        await store.UpsertCompanies([new Company("31000009", "Fjordens Tømrer A/S", true, ["1033333333"], []), new Company("12345674", "Ny ApS", true, ["1033333333"], [])]);
        var moved = await store.Lookup([Cvr("", "1033333333"), Cvr("31000009")]);
        Assert.Equal("12345674", moved[0].Id);
        Assert.Empty(moved[1].PNumbers);
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task A_load_stores_its_rows_a_chunk_at_a_time_and_a_reload_updates_the_known_and_adds_the_new(string kind)
    {
        var store = await Store(kind);
        var citizens = Enumerable.Range(0, 12_000).Select(i => Citizen($"{i % 28 + 1:D2}{i % 9 + 1:D2}{70 + i / 10_000:D2}{i % 10_000:D4}", $"Borger {i}")).ToList();

        Assert.Equal(new RegistryCounts(8_000, 0), await store.LoadCitizens(citizens[..8_000], chunkRows: 3_000));
        // Half of them known (every other one changed), half new: the chunks of known rows are upserted.
        var again = citizens[4_000..].Select((c, i) => i % 2 == 0 ? c with { Name = c.Name + " ændret", Status = RegistrationStatus.Closed } : c);
        Assert.Equal(new RegistryCounts(12_000, 0), await store.LoadCitizens(again, chunkRows: 3_000));

        var found = await store.Lookup([Cpr(citizens[0].Cpr), Cpr(citizens[4_000].Cpr), Cpr(citizens[4_001].Cpr), Cpr(citizens[11_999].Cpr)]);
        Assert.Equal(["Borger 0", "Borger 4000 ændret", "Borger 4001", "Borger 11999"], found.Select(f => f.Name));
        Assert.Equal([RecipientVerdict.DigitalPost, RecipientVerdict.NoActiveMailbox, RecipientVerdict.DigitalPost, RecipientVerdict.DigitalPost], found.Select(f => f.Verdict));
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task A_load_whose_rows_fail_to_read_ends_with_that_failure_and_keeps_the_chunks_stored_before(string kind)
    {
        var store = await Store(kind);
        IEnumerable<Citizen> Rows()
        {
            for (var i = 0; i < 5; i++) yield return Citizen($"0101{70 + i}1234", $"Borger {i}");
            throw new InvalidDataException("the file broke off");
        }

        var failure = await Assert.ThrowsAsync<InvalidDataException>(() => store.LoadCitizens(Rows(), chunkRows: 2));

        Assert.Equal("the file broke off", failure.Message);
        Assert.InRange((await store.Counts()).Citizens, 4, 5);
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task A_lookup_mixing_citizens_and_companies_answers_each_in_order_and_counts_follow_many_chunks(string kind)
    {
        var store = await Store(kind);
        var citizens = Enumerable.Range(0, 12_000).Select(i => Citizen($"{i % 28 + 1:D2}{i % 9 + 1:D2}{70 + i / 10_000:D2}{i % 10_000:D4}", $"Borger {i}")).ToList();
        foreach (var chunk in citizens.Chunk(5_000)) await store.UpsertCitizens(chunk);
        // Loading the same again changes nothing.
        await store.UpsertCitizens(citizens[..100]);
        await store.UpsertCompanies([new Company("31000009", "Fjordens Tømrer ApS", true, ["1012345678"], [])]);

        Assert.Equal(new RegistryCounts(citizens.Count, 1), await store.Counts());
        var found = await store.Lookup([Cpr(citizens[7].Cpr), Cvr("", "1012345678"), Cpr(citizens[^1].Cpr), Cvr("42000000")]);
        Assert.Equal([citizens[7].Name, "Fjordens Tømrer ApS", citizens[^1].Name, null], found.Select(f => f.Name));
        Assert.Equal([RecipientKind.Cpr, RecipientKind.Cvr, RecipientKind.Cpr, RecipientKind.Cvr], found.Select(f => f.Kind));
        Assert.Empty(await store.Lookup([]));
    }
}
