using System.Collections.Concurrent;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.Grains;
using Npgsql;

namespace DigitalPost.Infrastructure;

/// <summary>An event in a sender's outbox with its place in the sender's order, as the JSON the webhook receives: it is
/// serialised once, when it is appended, and pushed as it was stored.</summary>
public readonly record struct QueuedEvent(long Sequence, string Json);

/// <summary>The senders' webhook outboxes: status events stored in order until the sender's webhook took them. Kept
/// apart from the sender grain's state so that a million events are rows appended and deleted, not a list rewritten
/// on every change.</summary>
public interface IWebhookOutbox
{
    Task Append(string senderId, IReadOnlyList<WebhookEvent> events);
    /// <summary>The oldest events after <paramref name="after"/> first, at most <paramref name="max"/>. The caller keeps
    /// its place: rows already pushed are never read again, however many of them the database still has to vacuum.</summary>
    Task<IReadOnlyList<QueuedEvent>> Next(string senderId, long after, int max);
    /// <summary>Drops the events from <paramref name="first"/> to <paramref name="last"/>: the webhook has them.</summary>
    Task Remove(string senderId, long first, long last);
    Task<long> Count(string senderId);
    Task Clear(string senderId);
}

public static class WebhookJson
{
    public static string Of(WebhookEvent e) => JsonSerializer.Serialize(e, PlatformJson.Options);

    /// <summary>The body of one push: <c>{"events":[...]}</c> from the events' stored JSON, not parsed again.</summary>
    public static string Body(IEnumerable<QueuedEvent> events) => $"{{\"events\":[{string.Join(',', events.Select(e => e.Json))}]}}";
}

public sealed class MemoryWebhookOutbox : IWebhookOutbox
{
    private readonly ConcurrentDictionary<string, Queue<QueuedEvent>> _outboxes = new();
    private long _sequence;

    public Task Append(string senderId, IReadOnlyList<WebhookEvent> events)
    {
        var outbox = Of(senderId);
        lock (outbox)
            foreach (var e in events) outbox.Enqueue(new QueuedEvent(Interlocked.Increment(ref _sequence), WebhookJson.Of(e)));
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<QueuedEvent>> Next(string senderId, long after, int max)
    {
        var outbox = Of(senderId);
        lock (outbox) return Task.FromResult<IReadOnlyList<QueuedEvent>>([.. outbox.Where(e => e.Sequence > after).Take(max)]);
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
        lock (outbox) return Task.FromResult((long)outbox.Count);
    }

    public Task Clear(string senderId)
    {
        var outbox = Of(senderId);
        lock (outbox) outbox.Clear();
        return Task.CompletedTask;
    }

    private Queue<QueuedEvent> Of(string senderId) => _outboxes.GetOrAdd(senderId, _ => new Queue<QueuedEvent>());
}

/// <summary>The outboxes in PostgreSQL (table <c>webhook_outbox</c>, deploy/sql): appended in one statement per call,
/// read in order by the sender's index from the reader's place, deleted by range once pushed. The range matters: a
/// delete or read from the start of a sender's rows walks every dead row of the events pushed before it until
/// vacuum removes them, which made a million events quadratic.</summary>
public sealed class PostgresWebhookOutbox(NpgsqlDataSource db) : IWebhookOutbox
{
    private readonly NpgsqlDataSource _db = db;

    public async Task Append(string senderId, IReadOnlyList<WebhookEvent> events)
    {
        if (events.Count == 0) return;
        await using var command = _db.CreateCommand(
            "INSERT INTO webhook_outbox (sender_id, event) SELECT $1, e FROM unnest($2::json[]) WITH ORDINALITY AS x(e, n) ORDER BY n");
        command.Parameters.AddWithValue(senderId);
        command.Parameters.Add(new NpgsqlParameter
        {
            Value = events.Select(WebhookJson.Of).ToArray(),
            NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Json,
        });
        await command.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<QueuedEvent>> Next(string senderId, long after, int max)
    {
        await using var command = _db.CreateCommand("SELECT seq, event::text FROM webhook_outbox WHERE sender_id = $1 AND seq > $2 ORDER BY seq LIMIT $3");
        command.Parameters.AddWithValue(senderId);
        command.Parameters.AddWithValue(after);
        command.Parameters.AddWithValue(max);
        var events = new List<QueuedEvent>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) events.Add(new QueuedEvent(reader.GetInt64(0), reader.GetString(1)));
        return events;
    }

    public Task Remove(string senderId, long first, long last) =>
        Execute("DELETE FROM webhook_outbox WHERE sender_id = $1 AND seq >= $2 AND seq <= $3", senderId, first, last);
    public async Task<long> Count(string senderId)
    {
        await using var command = _db.CreateCommand("SELECT count(*) FROM webhook_outbox WHERE sender_id = $1");
        command.Parameters.AddWithValue(senderId);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public Task Clear(string senderId) => Execute("DELETE FROM webhook_outbox WHERE sender_id = $1", senderId);

    private async Task Execute(string sql, params object[] values)
    {
        await using var command = _db.CreateCommand(sql);
        foreach (var value in values) command.Parameters.AddWithValue(value);
        await command.ExecuteNonQueryAsync();
    }
}
