using System.Collections.Concurrent;
using Npgsql;

namespace DigitalPost.Infrastructure;

/// <summary>A message sent one at a time (outside any batch): who sent it, to whom, and when it was accepted.</summary>
public sealed record SingleMessage(Guid MessageUuid, string SenderId, string RecipientId, DateTimeOffset AcceptedAt);

/// <summary>The index of messages sent one at a time, by sender and time (retention) and by recipient (erasure). A
/// message is recorded once: recording it again (its sender repeating it after a lost answer) changes nothing.</summary>
public interface ISingleMessageStore
{
    Task Record(SingleMessage message);

    /// <summary>Every sender with a message recorded.</summary>
    Task<IReadOnlyList<string>> Senders();

    /// <summary>Up to <paramref name="max"/> of the sender's messages accepted before <paramref name="before"/>.</summary>
    Task<IReadOnlyList<Guid>> AcceptedBefore(string senderId, DateTimeOffset before, int max);

    Task<IReadOnlyList<Guid>> To(string recipientId);

    Task<int> Delete(IReadOnlyList<Guid> messageUuids);
}

public sealed class MemorySingleMessageStore : ISingleMessageStore
{
    private readonly ConcurrentDictionary<Guid, SingleMessage> _messages = new();

    public Task Record(SingleMessage message)
    {
        _messages.TryAdd(message.MessageUuid, message);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> Senders() =>
        Task.FromResult<IReadOnlyList<string>>([.. _messages.Values.Select(m => m.SenderId).Distinct(StringComparer.Ordinal)]);

    public Task<IReadOnlyList<Guid>> AcceptedBefore(string senderId, DateTimeOffset before, int max) => Task.FromResult<IReadOnlyList<Guid>>(
        [.. _messages.Values.Where(m => m.SenderId == senderId && m.AcceptedAt < before).Take(max).Select(m => m.MessageUuid)]);

    public Task<IReadOnlyList<Guid>> To(string recipientId) => Task.FromResult<IReadOnlyList<Guid>>(
        [.. _messages.Values.Where(m => m.RecipientId == recipientId).Select(m => m.MessageUuid)]);

    public Task<int> Delete(IReadOnlyList<Guid> messageUuids) => Task.FromResult(messageUuids.Count(uuid => _messages.TryRemove(uuid, out _)));
}

/// <summary>The index in PostgreSQL (table <c>single_message</c>, deploy/sql). Messages accepted at the same time (a
/// sender's many requests, a tar.lzma of MeMos) are recorded together, one statement for all.</summary>
public sealed class PostgresSingleMessageStore : ISingleMessageStore
{
    private readonly NpgsqlDataSource _db;
    private readonly GroupCommit<SingleMessage> _records;

    public PostgresSingleMessageStore(NpgsqlDataSource db)
    {
        _db = db;
        _records = new GroupCommit<SingleMessage>(Insert, maxBatch: 10_000);
    }

    public Task Record(SingleMessage message) => _records.Add(message);

    private async Task Insert(IReadOnlyList<SingleMessage> messages)
    {
        await using var command = _db.CreateCommand("""
            INSERT INTO single_message (message_uuid, sender_id, recipient_id, accepted_at)
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
            ON CONFLICT (message_uuid) DO NOTHING
            """);
        command.Parameters.AddWithValue(messages.Select(m => m.MessageUuid).ToArray());
        command.Parameters.AddWithValue(messages.Select(m => m.SenderId).ToArray());
        command.Parameters.AddWithValue(messages.Select(m => m.RecipientId).ToArray());
        command.Parameters.AddWithValue(messages.Select(m => m.AcceptedAt).ToArray());
        await command.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<string>> Senders()
    {
        await using var command = _db.CreateCommand("SELECT DISTINCT sender_id FROM single_message");
        return await PostgresLetterStore.ReadFirstColumn<string>(command);
    }

    public async Task<IReadOnlyList<Guid>> AcceptedBefore(string senderId, DateTimeOffset before, int max)
    {
        await using var command = _db.CreateCommand("SELECT message_uuid FROM single_message WHERE sender_id = $1 AND accepted_at < $2 LIMIT $3");
        command.Parameters.AddWithValue(senderId);
        command.Parameters.AddWithValue(before);
        command.Parameters.AddWithValue(max);
        return await PostgresLetterStore.ReadUuids(command);
    }

    public async Task<IReadOnlyList<Guid>> To(string recipientId)
    {
        await using var command = _db.CreateCommand("SELECT message_uuid FROM single_message WHERE recipient_id = $1");
        command.Parameters.AddWithValue(recipientId);
        return await PostgresLetterStore.ReadUuids(command);
    }

    public async Task<int> Delete(IReadOnlyList<Guid> messageUuids)
    {
        await using var command = _db.CreateCommand("DELETE FROM single_message WHERE message_uuid = ANY($1)");
        command.Parameters.AddWithValue(messageUuids.ToArray());
        return await command.ExecuteNonQueryAsync();
    }
}
