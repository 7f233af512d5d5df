using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Npgsql;

namespace DigitalPost.Ngdp;

/// <summary>A message waiting in a pull system's queue, with when it was made available (its attempt's time).</summary>
public sealed record PullEntry(Message Message, DateTimeOffset AvailableAt);

/// <summary>A page of a pull system's waiting messages, oldest first, and how many it has in all.</summary>
public sealed record PullPage(IReadOnlyList<Guid> MessageUuids, long Total);

/// <summary>The messages waiting for receiver systems registered as NgDP's <c>REST_PULL</c>, keyed by the system
/// (<c>cvr/systemId</c>): what a push is for the others. One entry per message: making it available again (a retry, a
/// forward to another pull system) replaces the entry and puts it last. Memory (embedded default) or the table
/// <c>pull_queue</c>.</summary>
public interface IPullQueue
{
    Task Offer(string systemKey, IReadOnlyList<Message> messages, DateTimeOffset at);

    /// <summary>The system's waiting messages, <paramref name="size"/> a page, pages counted from 0.</summary>
    Task<PullPage> Page(string systemKey, int page, int size);

    /// <summary>The message when it waits for this system; null for any other system's.</summary>
    Task<PullEntry?> Find(string systemKey, Guid messageUuid);

    /// <summary>Whether it waited for this system (it does not any more).</summary>
    Task<bool> Remove(string systemKey, Guid messageUuid);
}

/// <summary>Where a message to a receiver system goes by its protocol: POSTed to the endpoint of a push system, or put
/// in the queue of a pull system, which then counts as pushed (its receipt deadline runs from then).</summary>
public sealed class ReceiverSystemDelivery(ReceiverSystemClient push, IPullQueue pull, TimeProvider time)
{
    public async Task<PushResult> Deliver(string systemKey, DeliveryTarget target, IReadOnlyList<PushEnvelope> envelopes, TimeSpan timeout)
    {
        if (target.Protocol != ReceiverProtocol.RestPull) return await push.Push(target, envelopes, timeout);
        await pull.Offer(systemKey, [.. envelopes.Select(e => e.Message)], time.GetUtcNow());
        return PushResult.Ok;
    }
}

/// <summary>The embedded default: the queues in memory, gone with the process like the rest of the embedded storage.</summary>
public sealed class MemoryPullQueue : IPullQueue
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, (string System, long Seq, PullEntry Entry)> _entries = [];
    private readonly Dictionary<string, SortedList<long, Guid>> _bySystem = [];
    private long _seq;

    public Task Offer(string systemKey, IReadOnlyList<Message> messages, DateTimeOffset at)
    {
        lock (_gate)
            foreach (var message in messages)
            {
                var uuid = message.Header.MessageUuid;
                if (_entries.TryGetValue(uuid, out var old)) _bySystem[old.System].Remove(old.Seq);
                var seq = ++_seq;
                _entries[uuid] = (systemKey, seq, new PullEntry(message, at));
                if (!_bySystem.TryGetValue(systemKey, out var list)) _bySystem[systemKey] = list = [];
                list.Add(seq, uuid);
            }
        return Task.CompletedTask;
    }

    public Task<PullPage> Page(string systemKey, int page, int size)
    {
        lock (_gate)
            return Task.FromResult(_bySystem.TryGetValue(systemKey, out var list)
                ? new PullPage([.. list.Values.Skip(page * size).Take(size)], list.Count) : new PullPage([], 0));
    }

    public Task<PullEntry?> Find(string systemKey, Guid messageUuid)
    {
        lock (_gate)
            return Task.FromResult(_entries.TryGetValue(messageUuid, out var e) && e.System == systemKey ? e.Entry : null);
    }

    public Task<bool> Remove(string systemKey, Guid messageUuid)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(messageUuid, out var e) || e.System != systemKey) return Task.FromResult(false);
            _entries.Remove(messageUuid);
            _bySystem[systemKey].Remove(e.Seq);
            return Task.FromResult(true);
        }
    }
}

/// <summary>The queues in <c>pull_queue</c> (deploy/sql/025): a bulk lane's group of letters is one statement. A message
/// is kept as the platform's JSON of it; its stored documents stay in the document store, referenced.</summary>
public sealed class PostgresPullQueue(NpgsqlDataSource db) : IPullQueue
{
    public async Task Offer(string systemKey, IReadOnlyList<Message> messages, DateTimeOffset at)
    {
        if (messages.Count == 0) return;
        // A new seq on conflict too: an entry made available again goes last, as it waits from now.
        await using var command = db.CreateCommand("""
            INSERT INTO pull_queue (message_uuid, system_key, available_at, message)
            SELECT u, $2, $3, m FROM unnest($1::uuid[], $4::bytea[]) AS t(u, m)
            ON CONFLICT (message_uuid) DO UPDATE SET (system_key, seq, available_at, message) =
                (EXCLUDED.system_key, EXCLUDED.seq, EXCLUDED.available_at, EXCLUDED.message)
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. messages.Select(m => m.Header.MessageUuid)] });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = systemKey });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = at.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. messages.Select(m => JsonSerializer.SerializeToUtf8Bytes(m, PlatformJson.Options))] });
        await command.ExecuteNonQueryAsync();
    }

    public async Task<PullPage> Page(string systemKey, int page, int size)
    {
        var (uuids, total) = await PostgresPages.Read(db, "pull_queue", "message_uuid", "system_key", systemKey, page, size, r => r.GetGuid(0));
        return new PullPage(uuids, total);
    }

    public async Task<PullEntry?> Find(string systemKey, Guid messageUuid)
    {
        await using var command = db.CreateCommand("SELECT message, available_at FROM pull_queue WHERE message_uuid = $1 AND system_key = $2");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = messageUuid });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = systemKey });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new PullEntry(JsonSerializer.Deserialize<Message>(reader.GetFieldValue<byte[]>(0), PlatformJson.Options)!, reader.GetFieldValue<DateTimeOffset>(1))
            : null;
    }

    public async Task<bool> Remove(string systemKey, Guid messageUuid)
    {
        await using var command = db.CreateCommand("DELETE FROM pull_queue WHERE message_uuid = $1 AND system_key = $2");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = messageUuid });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = systemKey });
        return await command.ExecuteNonQueryAsync() > 0;
    }
}
