using System.Collections.Concurrent;
using DigitalPost.Contracts;
using Npgsql;

namespace DigitalPost.Infrastructure;

/// <summary>Replies linked to the letters they answer. A reply is linked once: linking it again changes nothing.</summary>
public interface IReplyStore
{
    Task Link(Guid originalUuid, LinkedReply reply);

    /// <summary>The letter's replies, oldest first.</summary>
    Task<IReadOnlyList<LinkedReply>> Of(Guid originalUuid);
}

public sealed class MemoryReplyStore : IReplyStore
{
    private readonly ConcurrentDictionary<Guid, (Guid Original, LinkedReply Reply)> _replies = new();

    public Task Link(Guid originalUuid, LinkedReply reply)
    {
        _replies.TryAdd(reply.ReplyUuid, (originalUuid, reply));
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<LinkedReply>> Of(Guid originalUuid) => Task.FromResult<IReadOnlyList<LinkedReply>>(
        [.. _replies.Values.Where(r => r.Original == originalUuid).Select(r => r.Reply).OrderBy(r => r.ReceivedAt).ThenBy(r => r.ReplyUuid)]);
}

/// <summary>The links in PostgreSQL (table <c>message_reply</c>, deploy/sql).</summary>
public sealed class PostgresReplyStore(NpgsqlDataSource db) : IReplyStore
{
    public async Task Link(Guid originalUuid, LinkedReply reply)
    {
        await using var command = db.CreateCommand("""
            INSERT INTO message_reply (reply_uuid, original_uuid, received_at) VALUES ($1, $2, $3) ON CONFLICT (reply_uuid) DO NOTHING
            """);
        command.Parameters.AddWithValue(reply.ReplyUuid);
        command.Parameters.AddWithValue(originalUuid);
        command.Parameters.AddWithValue(reply.ReceivedAt);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<LinkedReply>> Of(Guid originalUuid)
    {
        await using var command = db.CreateCommand("SELECT reply_uuid, received_at FROM message_reply WHERE original_uuid = $1 ORDER BY received_at, reply_uuid");
        command.Parameters.AddWithValue(originalUuid);
        var replies = new List<LinkedReply>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) replies.Add(new LinkedReply(reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1)));
        return replies;
    }
}
