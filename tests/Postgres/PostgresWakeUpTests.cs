using System.Collections.Concurrent;
using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using DigitalPost.Silo;
using DigitalPost.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace DigitalPost.Tests.Postgres;

[Alias("dp.tests.IWakeUpProbeGrain")]
public interface IWakeUpProbeGrain : IGrainWithStringKey, IWakeUpTarget;

/// <summary>A wake-up target that records each wake-up it takes, and refuses as many as a test tells it to.</summary>
public sealed class WakeUpProbeGrain : Grain, IWakeUpProbeGrain
{
    public static readonly ConcurrentQueue<string> Woken = new();
    public static readonly ConcurrentDictionary<string, int> Attempts = new();
    public static readonly ConcurrentDictionary<string, int> Refusals = new();

    public Task WakeUp()
    {
        var key = this.GetPrimaryKeyString();
        Attempts.AddOrUpdate(key, 1, (_, n) => n + 1);
        if (Refusals.TryGetValue(key, out var left) && left > 0 && Refusals.TryUpdate(key, left - 1, left))
            throw new InvalidOperationException($"{key} refuses this wake-up");
        Woken.Enqueue(key);
        return Task.CompletedTask;
    }

    public static List<string> WokenOf(string run) => Woken.Where(k => k.StartsWith(run, StringComparison.Ordinal)).ToList();
}

/// <summary>The wake-up schedule on PostgreSQL, through the scheduler shards of a real silo on a fake clock.</summary>
public sealed class PostgresWakeUpTests(PostgresServerFixture postgres) : IClassFixture<PostgresServerFixture>
{
    private static readonly DateTimeOffset Start = PlatformFixture.Start;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly FakeTimeProvider _time = new(Start);

    [Fact]
    public async Task Wake_ups_scheduled_before_a_cluster_restart_fire_after_it_in_due_order_each_once()
    {
        var (connectionString, serviceId) = await Database();
        var (early, middle, late) = ($"{_run}-early", $"{_run}-middle", $"{_run}-late");

        await using (var first = await StartCluster(connectionString, serviceId))
        {
            var wakeUps = WakeUpsOf(first);
            await wakeUps.Schedule(Probe(first, late), Start.AddHours(3));
            await wakeUps.Schedule(Probe(first, early), Start.AddHours(1));
            await wakeUps.Schedule(Probe(first, middle), Start.AddHours(2));
        }

        await using var second = await StartCluster(connectionString, serviceId);
        for (var hour = 1; hour <= 3; hour++)
        {
            _time.SetUtcNow(Start.AddHours(hour));
            await Settle(second, woken: hour);
            // Each fires at its own hour, not before.
            Assert.Equal(hour, WakeUpProbeGrain.WokenOf(_run).Count);
        }

        Assert.Equal([early, middle, late], WakeUpProbeGrain.WokenOf(_run));
        // Gone from the table once fired, so no later read fires it again.
        Assert.Empty(await Rows(connectionString));
    }

    [Fact]
    public async Task Scheduling_the_same_wake_up_again_stores_and_fires_it_once()
    {
        var (connectionString, serviceId) = await Database();
        var key = $"{_run}-same";
        await using var cluster = await StartCluster(connectionString, serviceId);
        var wakeUps = WakeUpsOf(cluster);
        var target = Probe(cluster, key);

        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => wakeUps.Schedule(target, Start.AddHours(1))));
        await wakeUps.Schedule(target, Start.AddHours(1));
        await wakeUps.Schedule(target, Start.AddHours(2));
        Assert.Equal([$"{target} 09:00:00", $"{target} 10:00:00"], await Rows(connectionString));

        _time.SetUtcNow(Start.AddHours(1));
        await Settle(cluster, woken: 1);
        Assert.Equal([$"{target} 10:00:00"], await Rows(connectionString));
        _time.SetUtcNow(Start.AddHours(2));
        await Settle(cluster, woken: 2);

        Assert.Equal([key, key], WakeUpProbeGrain.WokenOf(_run));
        Assert.Empty(await Rows(connectionString));
    }

    [Fact]
    public async Task A_wake_up_whose_target_fails_is_tried_again_until_it_succeeds()
    {
        var (connectionString, serviceId) = await Database();
        var key = $"{_run}-refusing";
        WakeUpProbeGrain.Refusals[key] = 2;
        await using var cluster = await StartCluster(connectionString, serviceId);
        var target = Probe(cluster, key);
        var retry = new SchedulerOptions().FailedWakeUpRetry;
        await WakeUpsOf(cluster).Schedule(target, Start.AddHours(1));

        _time.SetUtcNow(Start.AddHours(1));
        await Until(() => WakeUpProbeGrain.Attempts.GetValueOrDefault(key) == 1);
        await Until(async () => (await Rows(connectionString)).SequenceEqual([$"{target} {Start.AddHours(1) + retry:HH:mm:ss}"]));
        _time.Advance(retry);
        await Until(() => WakeUpProbeGrain.Attempts.GetValueOrDefault(key) == 2);
        await Until(async () => (await Rows(connectionString)).SequenceEqual([$"{target} {Start.AddHours(1) + 2 * retry:HH:mm:ss}"]));
        _time.Advance(retry);
        await Settle(cluster, woken: 1);

        Assert.Equal([key], WakeUpProbeGrain.WokenOf(_run));
        Assert.Equal(3, WakeUpProbeGrain.Attempts[key]);
        Assert.Empty(await Rows(connectionString));
    }

    private async Task<(string ConnectionString, string ServiceId)> Database()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        await new PostgresSchema(connectionString).ApplyAsync();
        return (connectionString, "dp-" + _run);
    }

    private async Task<InProcessTestCluster> StartCluster(string connectionString, string serviceId)
    {
        var configuration = new ConfigurationBuilder()
            .AddConfiguration(PostgresServer.PlatformConfiguration(connectionString))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Scheduler:Tick"] = "00:00:00.020" })
            .Build();
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.Options.ServiceId = serviceId;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddDigitalPostPlatform(configuration);
            PlatformFixture.UseFakePlatformClock(silo, _time);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private static WakeUps WakeUpsOf(InProcessTestCluster cluster) => new(cluster.Client, Options.Create(new SchedulerOptions()));

    private static GrainId Probe(InProcessTestCluster cluster, string key) => cluster.Client.GetGrain<IWakeUpProbeGrain>(key).GetGrainId();

    /// <summary>Waits until nothing is due and the run's probes took <paramref name="woken"/> wake-ups.</summary>
    private async Task Settle(InProcessTestCluster cluster, int woken)
    {
        var wakeUps = WakeUpsOf(cluster);
        await Until(async () => (await wakeUps.Counts()).Due == 0 && WakeUpProbeGrain.WokenOf(_run).Count >= woken);
    }

    private static Task Until(Func<bool> condition) => Until(() => Task.FromResult(condition()));

    private static async Task Until(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The schedule did not get there in 30 seconds.");
            await Task.Delay(20);
        }
    }

    /// <summary>The table's rows, as "target HH:mm:ss" (UTC), in due order.</summary>
    private static Task<List<string>> Rows(string connectionString) => PostgresServer.Strings(connectionString,
        """SELECT target || ' ' || to_char(due AT TIME ZONE 'UTC', 'HH24:MI:SS') FROM digitalpost_wakeup ORDER BY due, target""");
}
