using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using DigitalPost.Silo;
using DigitalPost.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Storage;
using Orleans.TestingHost;

namespace DigitalPost.Tests.Postgres;

/// <summary>One throwaway PostgreSQL server for the PostgreSQL tests; each test takes a database of its own.</summary>
public sealed class PostgresServerFixture : IAsyncLifetime
{
    public PostgresServer Server { get; private set; } = null!;
    public async Task InitializeAsync() => Server = await PostgresServer.StartAsync();
    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class PostgresStorageTests(PostgresServerFixture postgres) : IClassFixture<PostgresServerFixture>
{
    [Fact]
    public async Task Schema_applies_to_a_fresh_database_once()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        var schema = new PostgresSchema(connectionString);
        var expected = PostgresSchema.Scripts.Select(s => s.Version).ToList();
        Assert.Contains(1, expected);
        Assert.Contains(2, expected);

        Assert.Equal(expected, await schema.ApplyAsync());
        var tablesAfterFirst = await Tables(connectionString);
        var queriesAfterFirst = await PostgresServer.Strings(connectionString, "SELECT querykey || ':' || md5(querytext) FROM orleansquery ORDER BY 1");

        Assert.Empty(await schema.ApplyAsync());
        Assert.Equal(tablesAfterFirst, await Tables(connectionString));
        Assert.Equal(queriesAfterFirst, await PostgresServer.Strings(connectionString, "SELECT querykey || ':' || md5(querytext) FROM orleansquery ORDER BY 1"));
        Assert.Equal(expected.Select(v => v.ToString()), await PostgresServer.Strings(connectionString, "SELECT version::text FROM digitalpost_schema_version ORDER BY digitalpost_schema_version.version"));
        Assert.Contains("orleansstorage", tablesAfterFirst);
        Assert.Equal(["ClearStorageKey", "DeleteStorageKey", "ReadFromStorageKey", "WriteToStorageKey"],
            await PostgresServer.Strings(connectionString, "SELECT querykey FROM orleansquery WHERE querykey LIKE '%StorageKey' ORDER BY 1"));
    }

    [Fact]
    public async Task Silos_applying_the_schema_at_once_apply_each_script_once()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => new PostgresSchema(connectionString).ApplyAsync())));

        Assert.Equal(PostgresSchema.Scripts.Select(s => s.Version), runs.SelectMany(r => r).Order());
    }

    [Fact]
    public async Task Grain_state_written_by_one_cluster_is_read_by_the_next()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        await new PostgresSchema(connectionString).ApplyAsync();
        var serviceId = "dp-" + Guid.NewGuid().ToString("N")[..8];
        var cvr = PlatformFixture.NewCvr();

        await using (var first = await StartCluster(connectionString, serviceId))
        {
            var written = await first.Client.GetGrain<IOrganisationGrain>(cvr).Register(new OrganisationRegistration("Eksempel A/S"));
            Assert.Equal("Eksempel A/S", written.Name);
        }

        await using var second = await StartCluster(connectionString, serviceId);
        var read = await second.Client.GetGrain<IOrganisationGrain>(cvr).GetView();
        Assert.Equal("Eksempel A/S", read?.Name);
        Assert.Equal(["1"], await PostgresServer.Strings(connectionString, "SELECT count(*)::text FROM orleansstorage WHERE payloadbinary IS NOT NULL"));
    }

    private static async Task<InProcessTestCluster> StartCluster(string connectionString, string serviceId)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        // The second cluster must be the same service: grain state is keyed by service id.
        builder.Options.ServiceId = serviceId;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddDigitalPostPlatform(PostgresServer.PlatformConfiguration(connectionString));
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private static async Task<List<string>> Tables(string connectionString) =>
        await PostgresServer.Strings(connectionString, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
}
