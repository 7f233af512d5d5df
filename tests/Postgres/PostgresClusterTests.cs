using DigitalPost.Tests.Support;
using DigitalPost.Contracts;
using DigitalPost.Grains;
using DigitalPost.Infrastructure;
using DigitalPost.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace DigitalPost.Tests.Postgres;

/// <summary>Membership and reminders in PostgreSQL: silos find each other through the membership table, and
/// reminders outlive the cluster that registered them.</summary>
public sealed class PostgresClusterTests(PostgresServerFixture postgres) : IClassFixture<PostgresServerFixture>
{
    [Fact]
    public async Task Schema_registers_every_clustering_and_reminder_query()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        await new PostgresSchema(connectionString).ApplyAsync();

        Assert.Equal(
        [
            "CleanupDefunctSiloEntriesKey", "DeleteMembershipTableEntriesKey", "DeleteReminderRowKey", "DeleteReminderRowsKey",
            "GatewaysQueryKey", "InsertMembershipKey", "InsertMembershipVersionKey", "MembershipReadAllKey",
            "MembershipReadRowKey", "ReadRangeRows1Key", "ReadRangeRows2Key", "ReadReminderRowKey", "ReadReminderRowsKey",
            "UpdateIAmAlivetimeKey", "UpdateMembershipKey", "UpsertReminderRowKey",
        ], await PostgresServer.Strings(connectionString, """
            SELECT querykey FROM orleansquery
            WHERE querykey NOT LIKE '%StorageKey' ORDER BY querykey COLLATE "C"
            """));
    }

    [Fact]
    public async Task Every_script_can_be_replayed_by_hand_on_a_migrated_database()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        await new PostgresSchema(connectionString).ApplyAsync();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var script in PostgresSchema.Scripts)
        {
            await using var command = new NpgsqlCommand(script.Sql, connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task Two_silos_form_one_cluster_through_the_membership_table()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        await new PostgresSchema(connectionString).ApplyAsync();

        await using var cluster = await StartCluster(connectionString, "dp-" + Guid.NewGuid().ToString("N")[..8], silos: 2);
        var hosts = await cluster.Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: false);

        Assert.Equal(2, hosts.Count);
        Assert.All(hosts.Values, status => Assert.Equal(SiloStatus.Active, status));
        Assert.Equal(["3", "3"], await PostgresServer.Strings(connectionString, "SELECT status::text FROM orleansmembershiptable ORDER BY port"));
        Assert.Equal(["1"], await PostgresServer.Strings(connectionString, "SELECT count(*)::text FROM orleansmembershipversiontable"));
    }

    [Fact]
    public async Task A_batchs_partitions_are_placed_round_the_silos_by_their_number()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        await new PostgresSchema(connectionString).ApplyAsync();
        await using var cluster = await StartCluster(connectionString, "dp-" + Guid.NewGuid().ToString("N")[..8], silos: 3);
        var batchId = Guid.NewGuid();

        var partitions = Enumerable.Range(0, 6).Select(p => cluster.Client.GetGrain<IBatchPartitionGrain>(BatchPartitions.KeyOf(batchId, p))).ToList();
        // All activated at once, as their batch starts them: the default placement put such a burst on one silo.
        await Task.WhenAll(partitions.Select(p => p.GetTally()));
        var management = cluster.Client.GetGrain<IManagementGrain>(0);
        var placed = await Task.WhenAll(partitions.Select(p => management.GetActivationAddress(p).AsTask()));

        var silos = cluster.Silos.Select(s => s.SiloAddress).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 6).Select(p => silos[PartitionPlacement.SiloOf(batchId, p, 3)]), placed);
        Assert.All(placed.GroupBy(s => s), onOneSilo => Assert.Equal(2, onOneSilo.Count()));
    }

    [Fact]
    public async Task A_reminder_registered_by_one_cluster_is_listed_by_the_next()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        await new PostgresSchema(connectionString).ApplyAsync();
        var serviceId = "dp-" + Guid.NewGuid().ToString("N")[..8];
        var shardKey = Random.Shared.Next(1, short.MaxValue); // shards are smallints in the wake-up table
        GrainId scheduler;

        await using (var first = await StartCluster(connectionString, serviceId, silos: 1))
        {
            var shard = first.Client.GetGrain<IWakeUpSchedulerGrain>(shardKey);
            scheduler = shard.GetGrainId();
            // Scheduling anything registers the shard's keep-alive reminder.
            await shard.Schedule(first.Client.GetGrain<IWakeUpSchedulerGrain>(shardKey + 1).GetGrainId(),
                DateTimeOffset.UtcNow.AddHours(1));
        }

        Assert.Equal([$"{serviceId}|{scheduler}|keep-alive|60000|0"], await PostgresServer.Strings(connectionString,
            "SELECT serviceid || '|' || grainid || '|' || remindername || '|' || period || '|' || version FROM orleansreminderstable"));

        await using var second = await StartCluster(connectionString, serviceId, silos: 1);
        var table = second.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        var forGrain = await table.ReadRows(scheduler);
        var entry = Assert.Single(forGrain.Reminders);
        Assert.Equal("keep-alive", entry.ReminderName);
        Assert.Equal(TimeSpan.FromMinutes(1), entry.Period);
        // Ring ranges (begin, end], as the reminder service reads them: a plain one and one wrapping past the top.
        var hash = scheduler.GetUniformHashCode();
        Assert.Single((await table.ReadRows(hash - 1, hash)).Reminders);
        Assert.Single((await table.ReadRows(hash + 1, hash)).Reminders);
        Assert.Empty((await table.ReadRows(hash, hash + 1)).Reminders);
        Assert.Single(await table.ReadRow(scheduler, "keep-alive") is { } one ? [one] : Array.Empty<ReminderEntry>());

        Assert.True(await table.RemoveRow(scheduler, "keep-alive", entry.ETag!));
        Assert.Empty((await table.ReadRows(scheduler)).Reminders);
    }

    private static async Task<InProcessTestCluster> StartCluster(string connectionString, string serviceId, short silos)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        builder.Options.ServiceId = serviceId;
        // The test host's own in-memory membership would make any two silos one cluster, and it registers its
        // table after every ConfigureSilo/ConfigureClient delegate, so it would win. The switch is internal in
        // Orleans 10.4; off, the silos and the client can only find each other through the PostgreSQL table.
        var useTestMembership = typeof(InProcessTestClusterOptions).GetProperty("UseTestClusterMembership",
            System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("InProcessTestClusterOptions.UseTestClusterMembership is gone; revisit this test.");
        useTestMembership.SetValue(builder.Options, false);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddDigitalPostPlatform(PostgresServer.PlatformConfiguration(connectionString));
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
        });
        builder.ConfigureClient(client => client.UseAdoNetClustering(o =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = connectionString;
        }));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
