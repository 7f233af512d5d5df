using DigitalPost.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace DigitalPost.Infrastructure;

/// <summary>A wake-up as the schedule stores it. Due times are kept to whole microseconds, PostgreSQL's precision,
/// so an entry read back from the table equals the one that was scheduled.</summary>
public readonly record struct WakeUpEntry(GrainId Target, DateTimeOffset Due)
{
    public static WakeUpEntry Of(GrainId target, DateTimeOffset due) => new(target, DueOf(due));

    /// <summary>The due time as stored: UTC, to the microsecond.</summary>
    public static DateTimeOffset DueOf(DateTimeOffset due)
    {
        var utc = due.ToUniversalTime();
        return utc.AddTicks(-(utc.Ticks % 10));
    }
}

/// <param name="Due">The due entries, earliest first, at most the number asked for.</param>
/// <param name="Next">The earliest entry not yet due, if any.</param>
public sealed record DueWakeUps(IReadOnlyList<WakeUpEntry> Due, DateTimeOffset? Next);

/// <summary>Where the wake-up schedule lives, one ordered set of entries per shard. Every method is safe to call
/// concurrently; only the shard's scheduler grain reads and removes a shard's entries.</summary>
public interface IWakeUpStore
{
    /// <summary>Stores the entry; once the task completes it is durable. Adding an entry twice stores it once.</summary>
    Task Add(int shard, WakeUpEntry entry);

    /// <summary>The shard's entries due at <paramref name="now"/> in due order, at most <paramref name="limit"/>, and the next due time after them.</summary>
    Task<DueWakeUps> Due(int shard, DateTimeOffset now, int limit);

    /// <summary>Removes the entries that fired, and moves the ones that failed to <paramref name="retryAt"/>.</summary>
    Task Complete(int shard, IReadOnlyCollection<WakeUpEntry> fired, IReadOnlyCollection<WakeUpEntry> failed, DateTimeOffset retryAt);

    /// <summary>How many entries the shard holds, and how many of them are due.</summary>
    Task<(int Pending, int Due)> Count(int shard, DateTimeOffset now);
}

/// <summary>The embedded default: the schedule in the silo's memory. Not durable, and one silo's only, like the rest
/// of the embedded default's state.</summary>
public sealed class MemoryWakeUpStore : IWakeUpStore
{
    private static readonly IComparer<WakeUpEntry> ByDue = Comparer<WakeUpEntry>.Create((a, b) =>
    {
        var byDue = a.Due.CompareTo(b.Due);
        return byDue != 0 ? byDue : string.CompareOrdinal(a.Target.ToString(), b.Target.ToString());
    });

    private readonly Dictionary<int, SortedSet<WakeUpEntry>> _shards = [];

    public Task Add(int shard, WakeUpEntry entry)
    {
        lock (_shards) Shard(shard).Add(entry);
        return Task.CompletedTask;
    }

    public Task<DueWakeUps> Due(int shard, DateTimeOffset now, int limit)
    {
        lock (_shards)
        {
            var entries = Shard(shard);
            var due = entries.TakeWhile(e => e.Due <= now).Take(limit).ToList();
            DateTimeOffset? next = entries.FirstOrDefault(e => e.Due > now) is { Target.IsDefault: false } later ? later.Due : null;
            return Task.FromResult(new DueWakeUps(due, next));
        }
    }

    public Task Complete(int shard, IReadOnlyCollection<WakeUpEntry> fired, IReadOnlyCollection<WakeUpEntry> failed, DateTimeOffset retryAt)
    {
        lock (_shards)
        {
            var entries = Shard(shard);
            foreach (var entry in fired.Concat(failed)) entries.Remove(entry);
            foreach (var entry in failed) entries.Add(WakeUpEntry.Of(entry.Target, retryAt));
        }
        return Task.CompletedTask;
    }

    public Task<(int Pending, int Due)> Count(int shard, DateTimeOffset now)
    {
        lock (_shards)
        {
            var entries = Shard(shard);
            return Task.FromResult((entries.Count, entries.TakeWhile(e => e.Due <= now).Count()));
        }
    }

    private SortedSet<WakeUpEntry> Shard(int shard)
    {
        if (!_shards.TryGetValue(shard, out var entries)) _shards[shard] = entries = new SortedSet<WakeUpEntry>(ByDue);
        return entries;
    }
}

public static class WakeUpStoreExtensions
{
    /// <summary>Keeps the wake-up schedule in PostgreSQL (the table of deploy/sql/005), scoped to the cluster's service
    /// id, on the silo's pool (<see cref="NpgsqlDataSource"/>) that the platform's other tables share.</summary>
    public static IServiceCollection AddPostgresWakeUpStore(this IServiceCollection services) =>
        services.AddSingleton<IWakeUpStore>(sp => new PostgresWakeUpStore(
            sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId));
}
