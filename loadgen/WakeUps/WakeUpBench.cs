using System.Diagnostics;
using System.Globalization;
using System.Net;
using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using DigitalPost.LoadGen.Batches;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace DigitalPost.LoadGen.WakeUps;

public sealed record WakeUpBenchSettings(
    Uri Platform, IPEndPoint Gateway, string ServiceId, string ClusterId, int Shards,
    int Waiting, int Due, int Concurrency, TimeSpan Settle, TimeSpan Idle, TimeSpan Lead, TimeSpan Window, int? SiloPid, string? OperatorKey = null);

public sealed record SeedReport(int Requested, int AlreadyPending, int Scheduled, double Seconds, double PerSecond);

public sealed record CpuReport(double WallSeconds, double CpuSeconds, double CpuSecondsPerSecond, string Source);

public sealed record LatenessReport(int Scheduled, long Fired, double WindowSeconds, long? P50Ms, long? P99Ms, long? MaxMs, CpuReport Cpu);

public sealed record WakeUpBenchReport(string Note, int PendingAtIdle, SeedReport Seed, CpuReport Idle, LatenessReport? Lateness);

/// <summary><c>loadgen wakeups</c>: the cost of the durable wake-up schedule at scale, against a running silo. It
/// schedules wake-ups through the silo's gateway as the grains do (<see cref="Infrastructure.WakeUps"/>), then measures
/// the silo's CPU while they only wait, and how late a second set fires that comes due during the measurement.</summary>
public static class WakeUpBench
{
    public const string Note = "Waiting wake-ups target message ids with no message and are due 30 days or more ahead, so none comes due during the " +
        "measurement. The due set targets message ids with no message too: its action is activating that message grain, which reads " +
        "its (empty) state and returns. Lateness is the scheduler's own histogram (due time to completed wake-up, on the silo's clock), " +
        "read before and after; percentiles are bucket upper bounds (within 12.5%).";

    public static async Task<WakeUpBenchReport> Run(WakeUpBenchSettings settings, IAnsiConsole console, CancellationToken cancellationToken)
    {
        using var host = await Gateway.Connect(settings.Gateway, settings.ServiceId, settings.ClusterId, cancellationToken);
        var grains = host.Services.GetRequiredService<IClusterClient>();
        var wakeUps = new Infrastructure.WakeUps(grains, Options.Create(new SchedulerOptions { Shards = settings.Shards }));
        using var platform = new PlatformClient(settings.Platform, apiKey: null, operatorKey: settings.OperatorKey);

        var pending = (await Counts(grains, settings.Shards)).Pending;
        var toSeed = Math.Max(0, settings.Waiting - pending);
        console.MarkupLineInterpolated($"{pending:N0} wake-ups pending; scheduling {toSeed:N0} more, due in 30 days or later...");
        var farAway = DateTimeOffset.UtcNow.AddDays(30);
        var seedClock = Stopwatch.StartNew();
        await ScheduleMany(wakeUps, grains, toSeed, settings.Concurrency, i => farAway.AddSeconds(i % 2_592_000), console, cancellationToken);
        var seed = new SeedReport(settings.Waiting, pending, toSeed, Math.Round(seedClock.Elapsed.TotalSeconds, 1),
            toSeed == 0 ? 0 : Math.Round(toSeed / seedClock.Elapsed.TotalSeconds));

        console.MarkupLineInterpolated($"Letting the silo settle for {settings.Settle.TotalSeconds:0} s...");
        await Task.Delay(settings.Settle, cancellationToken);
        var pendingAtIdle = (await Counts(grains, settings.Shards)).Pending;
        console.MarkupLineInterpolated($"Measuring idle CPU over {settings.Idle.TotalSeconds:0} s with {pendingAtIdle:N0} wake-ups waiting...");
        var idle = await MeasureCpu(platform, settings.SiloPid, () => Task.Delay(settings.Idle, cancellationToken), cancellationToken);

        LatenessReport? lateness = null;
        if (settings.Due > 0)
        {
            var start = await Counts(grains, settings.Shards);
            var (pendingBefore, before) = (start.Pending, start.Lateness);
            var from = DateTimeOffset.UtcNow + settings.Lead;
            console.MarkupLineInterpolated($"Scheduling {settings.Due:N0} wake-ups due over {settings.Window.TotalSeconds:0} s from {from:HH:mm:ss}...");
            var step = settings.Window / settings.Due;
            await ScheduleMany(wakeUps, grains, settings.Due, settings.Concurrency, i => from + step * i, console, cancellationToken);
            WakeUpLateness after = before;
            var cpu = await MeasureCpu(platform, settings.SiloPid, async () =>
            {
                var deadline = from + settings.Window + TimeSpan.FromMinutes(2);
                await Task.Delay(Max(TimeSpan.Zero, from + settings.Window - DateTimeOffset.UtcNow), cancellationToken);
                // Done when all of the set fired; a silo that keeps no lateness histogram (the design before it) is
                // done when its pending count is back where it was.
                while (DateTimeOffset.UtcNow < deadline)
                {
                    var counts = await Counts(grains, settings.Shards);
                    after = counts.Lateness;
                    if (after.Fired - before.Fired >= settings.Due || counts.Pending <= pendingBefore) break;
                    await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                }
            }, cancellationToken);
            var window = after - before;
            lateness = new LatenessReport(settings.Due, window.Fired, settings.Window.TotalSeconds, window.Percentile(0.5), window.Percentile(0.99), window.Max, cpu);
        }
        await host.StopAsync(cancellationToken);
        return new WakeUpBenchReport(Note, pendingAtIdle, seed, idle, lateness);
    }

    private static async Task ScheduleMany(Infrastructure.WakeUps wakeUps, IClusterClient grains, int count, int concurrency,
        Func<int, DateTimeOffset> dueOf, IAnsiConsole console, CancellationToken cancellationToken)
    {
        if (count == 0) return;
        var done = 0;
        using var progress = new Timer(_ => console.MarkupLineInterpolated($"  {Volatile.Read(ref done):N0} / {count:N0}"), null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
            async (i, _) =>
            {
                await wakeUps.Schedule(grains.GetGrain<IMessageGrain>(Guid.NewGuid()).GetGrainId(), dueOf(i));
                Interlocked.Increment(ref done);
            });
    }

    /// <summary>The shards' counts, read one by one so a silo of the design before the lateness histogram still answers.</summary>
    private static async Task<ScheduleCounts> Counts(IClusterClient grains, int shards)
    {
        var total = ScheduleCounts.None;
        for (var shard = 0; shard < shards; shard++)
        {
            var counts = await grains.GetGrain<IWakeUpSchedulerGrain>(shard).Counts();
            total += counts with { Lateness = counts.Lateness ?? WakeUpLateness.None };
        }
        return total;
    }

    /// <summary>The silo's CPU use while <paramref name="during"/> runs: from /proc when its process id is given (a silo
    /// on this machine), otherwise from the CPU time it reports in <c>/api/operations</c>.</summary>
    private static async Task<CpuReport> MeasureCpu(PlatformClient platform, int? pid, Func<Task> during, CancellationToken cancellationToken)
    {
        async Task<double> Read() => pid is { } id
            ? ProcessCpuSeconds(id)
            : (await platform.GetOperations(cancellationToken)).GetProperty("process").GetProperty("cpuSeconds").GetDouble();
        var cpu0 = await Read();
        var wall = Stopwatch.StartNew();
        await during();
        var cpu = await Read() - cpu0;
        var seconds = wall.Elapsed.TotalSeconds;
        return new CpuReport(Math.Round(seconds, 1), Math.Round(cpu, 3), Math.Round(cpu / seconds, 4), pid is null ? "/api/operations" : $"/proc/{pid}/stat");
    }

    /// <summary>User and system time of a process, from fields 14 and 15 of /proc/{pid}/stat (in clock ticks, 100 per second on Linux).</summary>
    private static double ProcessCpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) may hold spaces; the fields after it are plain.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
