using Npgsql;
using NpgsqlTypes;

namespace DigitalPost.Infrastructure;

/// <summary>The wake-up schedule in PostgreSQL (<c>digitalpost_wakeup</c>, deploy/sql/005). Concurrent adds from all
/// the shards on this silo are group-committed into one multi-row insert; a shard reads only the head of its due
/// order, so a million rows waiting cost nothing until they come due.</summary>
public sealed class PostgresWakeUpStore : IWakeUpStore
{
    /// <summary>Large enough that a burst of scheduling is a few statements, small enough that one statement stays short.</summary>
    private const int MaxRowsPerInsert = 5000;

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _serviceId;
    private readonly GroupCommit<(int Shard, WakeUpEntry Entry)> _inserts;

    public PostgresWakeUpStore(NpgsqlDataSource dataSource, string serviceId)
    {
        _dataSource = dataSource;
        _serviceId = serviceId;
        _inserts = new GroupCommit<(int, WakeUpEntry)>(Insert, MaxRowsPerInsert);
    }

    public Task Add(int shard, WakeUpEntry entry) => _inserts.Add((shard, entry));

    public async Task<DueWakeUps> Due(int shard, DateTimeOffset now, int limit)
    {
        // Two index range scans in one round trip: the due head of the shard, and the first row after it.
        await using var command = _dataSource.CreateCommand("""
            (SELECT target, due FROM digitalpost_wakeup
             WHERE service_id = $1 AND shard = $2 AND due <= $3 ORDER BY due LIMIT $4)
            UNION ALL
            (SELECT target, due FROM digitalpost_wakeup
             WHERE service_id = $1 AND shard = $2 AND due > $3 ORDER BY due LIMIT 1)
            """);
        command.Parameters.Add(new() { Value = _serviceId });
        command.Parameters.Add(new() { Value = (short)shard });
        command.Parameters.Add(new() { Value = now.ToUniversalTime() });
        command.Parameters.Add(new() { Value = limit });
        var due = new List<WakeUpEntry>();
        DateTimeOffset? next = null;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var entry = new WakeUpEntry(GrainId.Parse(reader.GetString(0)), reader.GetFieldValue<DateTimeOffset>(1));
            if (entry.Due <= now) due.Add(entry);
            else next = entry.Due;
        }
        return new DueWakeUps(due, next);
    }

    public async Task Complete(int shard, IReadOnlyCollection<WakeUpEntry> fired, IReadOnlyCollection<WakeUpEntry> failed, DateTimeOffset retryAt)
    {
        // One statement, so a failed entry is never both gone and not yet moved.
        var gone = fired.Concat(failed).ToList();
        await using var command = _dataSource.CreateCommand("""
            WITH gone AS (
                DELETE FROM digitalpost_wakeup w
                USING unnest($2::text[], $3::timestamptz[]) AS f(target, due)
                WHERE w.service_id = $1 AND w.target = f.target AND w.due = f.due)
            INSERT INTO digitalpost_wakeup (service_id, shard, due, target)
            SELECT $1, $4, $5, target FROM unnest($6::text[]) AS r(target)
            ON CONFLICT DO NOTHING
            """);
        command.Parameters.Add(new() { Value = _serviceId });
        command.Parameters.Add(new() { Value = gone.Select(e => e.Target.ToString()).ToArray() });
        command.Parameters.Add(new() { Value = gone.Select(e => e.Due.ToUniversalTime()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = (short)shard });
        command.Parameters.Add(new() { Value = WakeUpEntry.DueOf(retryAt) });
        command.Parameters.Add(new() { Value = failed.Select(e => e.Target.ToString()).ToArray() });
        await command.ExecuteNonQueryAsync();
    }

    public async Task<(int Pending, int Due)> Count(int shard, DateTimeOffset now)
    {
        await using var command = _dataSource.CreateCommand("""
            SELECT count(*)::int, (count(*) FILTER (WHERE due <= $3))::int FROM digitalpost_wakeup
            WHERE service_id = $1 AND shard = $2
            """);
        command.Parameters.Add(new() { Value = _serviceId });
        command.Parameters.Add(new() { Value = (short)shard });
        command.Parameters.Add(new() { Value = now.ToUniversalTime() });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt32(0), reader.GetInt32(1));
    }

    private async Task Insert(IReadOnlyList<(int Shard, WakeUpEntry Entry)> rows)
    {
        // ON CONFLICT DO NOTHING: scheduling what is already scheduled, even twice in one batch, is one row.
        await using var command = _dataSource.CreateCommand("""
            INSERT INTO digitalpost_wakeup (service_id, shard, due, target)
            SELECT $1, shard, due, target FROM unnest($2::smallint[], $3::timestamptz[], $4::text[]) AS r(shard, due, target)
            ON CONFLICT DO NOTHING
            """);
        command.Parameters.Add(new() { Value = _serviceId });
        command.Parameters.Add(new() { Value = rows.Select(r => (short)r.Shard).ToArray() });
        command.Parameters.Add(new() { Value = rows.Select(r => r.Entry.Due).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = rows.Select(r => r.Entry.Target.ToString()).ToArray() });
        await command.ExecuteNonQueryAsync();
    }
}
