using System.Collections.Concurrent;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.Grains;
using Npgsql;

namespace DigitalPost.Infrastructure;

/// <summary>A run of events in a sender's outbox, with its place in the sender's order: the events as the JSON array
/// the webhook receives. Serialised once, when appended, and pushed as stored.</summary>
public readonly record struct QueuedRun(long Sequence, int Count, string Json);

/// <summary>The senders' webhook outboxes: status events stored in order until the sender's webhook took them. Kept
/// apart from the sender grain's state so that a million events are rows appended and deleted, not a list rewritten
/// on every change; and stored in runs of up to one push, so that they are a few thousand rows, not a million.</summary>
public interface IWebhookOutbox
{
    /// <summary>Stores the events in order, in runs of at most <paramref name="perRun"/>.</summary>
    Task Append(string senderId, IReadOnlyList<WebhookEvent> events, int perRun);
    /// <summary>The oldest runs after <paramref name="after"/>, as many as fit in <paramref name="maxEvents"/> events
    /// (always the first). The caller keeps its place: rows already pushed are never read again, however many of them
    /// the database still has to vacuum.</summary>
    Task<IReadOnlyList<QueuedRun>> Next(string senderId, long after, int maxEvents);
    /// <summary>Drops the runs from <paramref name="first"/> to <paramref name="last"/>: the webhook has them.</summary>
    Task Remove(string senderId, long first, long last);
    /// <summary>The events waiting.</summary>
    Task<long> Count(string senderId);
    Task Clear(string senderId);

    /// <summary>Deletes the sender's runs stored before <paramref name="before"/> (events its webhook never took within
    /// the sender's retention period), at most <paramref name="max"/> runs; none deleted means none is left.</summary>
    Task<int> DeleteBefore(string senderId, DateTimeOffset before, int max);
}

public static class WebhookJson
{
    /// <summary>The runs of at most <paramref name="perRun"/> events, each as its JSON array.</summary>
    public static IEnumerable<(int Count, string Json)> Runs(IReadOnlyList<WebhookEvent> events, int perRun) =>
        events.Chunk(Math.Max(1, perRun)).Select(run => (run.Length, JsonSerializer.Serialize(run, PlatformJson.Options)));

    /// <summary>The body of one push: <c>{"events":[...]}</c> from the runs' stored JSON, not parsed again.</summary>
    public static string Body(IReadOnlyList<QueuedRun> runs) => runs.Count == 1
        ? $"{{\"events\":{runs[0].Json}}}"
        : $"{{\"events\":[{string.Join(',', runs.Select(r => r.Json[1..^1]))}]}}";

    /// <summary>The leading runs that fit in <paramref name="maxEvents"/>, and always the first.</summary>
    public static List<QueuedRun> Fitting(IEnumerable<QueuedRun> runs, int maxEvents)
    {
        var fitting = new List<QueuedRun>();
        var events = 0;
        foreach (var run in runs)
        {
            if (fitting.Count > 0 && events + run.Count > maxEvents) break;
            fitting.Add(run);
            events += run.Count;
        }
        return fitting;
    }
}

public sealed class MemoryWebhookOutbox(TimeProvider time) : IWebhookOutbox
{
    private readonly ConcurrentDictionary<string, Queue<QueuedRun>> _outboxes = new();
    private readonly ConcurrentDictionary<long, DateTimeOffset> _storedAt = new();
    private long _sequence;

    public Task Append(string senderId, IReadOnlyList<WebhookEvent> events, int perRun)
    {
        var outbox = Of(senderId);
        lock (outbox)
            foreach (var (count, json) in WebhookJson.Runs(events, perRun))
            {
                var run = new QueuedRun(Interlocked.Increment(ref _sequence), count, json);
                _storedAt[run.Sequence] = time.GetUtcNow();
                outbox.Enqueue(run);
            }
        return Task.CompletedTask;
    }

    public Task<int> DeleteBefore(string senderId, DateTimeOffset before, int max)
    {
        var outbox = Of(senderId);
        lock (outbox)
        {
            var kept = outbox.Where(r => _storedAt.GetValueOrDefault(r.Sequence) >= before).ToList();
            var deleted = Math.Min(max, outbox.Count - kept.Count);
            // Runs are stored in order, so the expired ones are the oldest.
            var remaining = outbox.Skip(deleted).ToList();
            foreach (var run in outbox.Take(deleted)) _storedAt.TryRemove(run.Sequence, out _);
            outbox.Clear();
            foreach (var run in remaining) outbox.Enqueue(run);
            return Task.FromResult(deleted);
        }
    }

    public Task<IReadOnlyList<QueuedRun>> Next(string senderId, long after, int maxEvents)
    {
        var outbox = Of(senderId);
        lock (outbox) return Task.FromResult<IReadOnlyList<QueuedRun>>(WebhookJson.Fitting(outbox.Where(r => r.Sequence > after), maxEvents));
    }

    public Task Remove(string senderId, long first, long last)
    {
        var outbox = Of(senderId);
        lock (outbox)
            while (outbox.TryPeek(out var oldest) && oldest.Sequence <= last) outbox.Dequeue();
        return Task.CompletedTask;
    }

    public Task<long> Count(string senderId)
    {
        var outbox = Of(senderId);
        lock (outbox) return Task.FromResult(outbox.Sum(r => (long)r.Count));
    }

    public Task Clear(string senderId)
    {
        var outbox = Of(senderId);
        lock (outbox) outbox.Clear();
        return Task.CompletedTask;
    }

    private Queue<QueuedRun> Of(string senderId) => _outboxes.GetOrAdd(senderId, _ => new Queue<QueuedRun>());
}

/// <summary>The outboxes in PostgreSQL (table <c>webhook_outbox</c>, deploy/sql): appended in one statement per call,
/// read in order by the sender's index from the reader's place, deleted by range once pushed. The range matters: a
/// delete or read from the start of a sender's rows walks every dead row of the events pushed before it until
/// vacuum removes them, which made a million events quadratic.</summary>
public sealed class PostgresWebhookOutbox(NpgsqlDataSource db, TimeProvider time) : IWebhookOutbox
{
    private readonly NpgsqlDataSource _db = db;

    public async Task Append(string senderId, IReadOnlyList<WebhookEvent> events, int perRun)
    {
        if (events.Count == 0) return;
        var runs = WebhookJson.Runs(events, perRun).ToList();
        await using var command = _db.CreateCommand("""
            INSERT INTO webhook_outbox (sender_id, event_count, event, stored_at)
            SELECT $1, n, e, $4 FROM unnest($2::integer[], $3::text[]) WITH ORDINALITY AS x(n, e, i) ORDER BY i
            """);
        command.Parameters.AddWithValue(senderId);
        command.Parameters.AddWithValue(runs.Select(r => r.Count).ToArray());
        command.Parameters.AddWithValue(runs.Select(r => r.Json).ToArray());
        command.Parameters.AddWithValue(time.GetUtcNow());
        await command.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<QueuedRun>> Next(string senderId, long after, int maxEvents)
    {
        // Runs hold at least one event each, so maxEvents rows are the most that can fit; the running total cuts them
        // there in the database, so the runs that do not fit are never sent over.
        await using var command = _db.CreateCommand("""
            SELECT seq, event_count, event FROM (
                SELECT seq, event_count, event, sum(event_count) OVER (ORDER BY seq) AS upto
                FROM (SELECT seq, event_count, event FROM webhook_outbox WHERE sender_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) AS head
            ) AS runs
            WHERE upto <= $3 OR upto = event_count
            ORDER BY seq
            """);
        command.Parameters.AddWithValue(senderId);
        command.Parameters.AddWithValue(after);
        command.Parameters.AddWithValue(maxEvents);
        var runs = new List<QueuedRun>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) runs.Add(new QueuedRun(reader.GetInt64(0), reader.GetInt32(1), reader.GetString(2)));
        return runs;
    }

    public Task Remove(string senderId, long first, long last) =>
        Execute("DELETE FROM webhook_outbox WHERE sender_id = $1 AND seq >= $2 AND seq <= $3", senderId, first, last);
    public async Task<long> Count(string senderId)
    {
        await using var command = _db.CreateCommand("SELECT coalesce(sum(event_count), 0)::bigint FROM webhook_outbox WHERE sender_id = $1");
        command.Parameters.AddWithValue(senderId);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public Task Clear(string senderId) => Execute("DELETE FROM webhook_outbox WHERE sender_id = $1", senderId);

    public async Task<int> DeleteBefore(string senderId, DateTimeOffset before, int max)
    {
        await using var command = _db.CreateCommand("""
            DELETE FROM webhook_outbox WHERE sender_id = $1 AND seq = ANY(ARRAY(
                SELECT seq FROM webhook_outbox WHERE sender_id = $1 AND stored_at < $2 ORDER BY seq LIMIT $3))
            """);
        command.Parameters.AddWithValue(senderId);
        command.Parameters.AddWithValue(before);
        command.Parameters.AddWithValue(max);
        return await command.ExecuteNonQueryAsync();
    }

    private async Task Execute(string sql, params object[] values)
    {
        await using var command = _db.CreateCommand(sql);
        foreach (var value in values) command.Parameters.AddWithValue(value);
        await command.ExecuteNonQueryAsync();
    }
}
