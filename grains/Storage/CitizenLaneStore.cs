using System.Collections.Concurrent;
using DigitalPost.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace DigitalPost.Infrastructure;

/// <summary>A letter in a citizen's lane: in the Digital Post mailbox (digital postkasse), or in the NemSMS queue.
/// Its document is laid out when it is opened, from the message it belongs to.</summary>
public sealed record CitizenLetter(Guid MessageUuid, string Cpr, string SenderId, string Title, DateTimeOffset At);

/// <summary>The citizens' mailboxes and the NemSMS queue. Batches append many letters a call; a letter there already
/// (by its message id) is left as it is, so a repeated step changes nothing.</summary>
public interface ICitizenLaneStore
{
    Task Append(LetterLane lane, IReadOnlyList<CitizenLetter> letters);

    /// <summary>A citizen's letters in the lane, oldest first.</summary>
    Task<IReadOnlyList<CitizenLetter>> Of(LetterLane lane, string cpr);

    /// <summary>Deletes the sender's letters in the lane put there before <paramref name="before"/>, at most
    /// <paramref name="max"/> of them; none deleted means none is left.</summary>
    Task<int> DeleteBefore(LetterLane lane, string senderId, DateTimeOffset before, int max);

    /// <summary>Deletes every letter to the citizen in the lane.</summary>
    Task<int> Erase(LetterLane lane, string cpr);
}

/// <summary>The embedded default: gone with the process like the rest of the embedded storage.</summary>
public sealed class MemoryCitizenLaneStore : ICitizenLaneStore
{
    private readonly ConcurrentDictionary<(LetterLane, Guid), CitizenLetter> _letters = new();
    // The mailbox's letters in the order they were appended, for the notifier: an append and its place are taken
    // under one lock, so a reader never sees a later letter without the earlier ones.
    private readonly List<CitizenLetter> _mailboxInOrder = [];

    public Task Append(LetterLane lane, IReadOnlyList<CitizenLetter> letters)
    {
        CitizenLanes.TableOf(lane);
        lock (_mailboxInOrder)
            foreach (var letter in letters)
                if (_letters.TryAdd((lane, letter.MessageUuid), letter) && lane == LetterLane.CitizenMailbox) _mailboxInOrder.Add(letter);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<CitizenLetter>> Of(LetterLane lane, string cpr) =>
        Task.FromResult<IReadOnlyList<CitizenLetter>>([.. _letters.Where(l => l.Key.Item1 == lane && l.Value.Cpr == cpr)
            .Select(l => l.Value).OrderBy(l => l.At).ThenBy(l => l.MessageUuid)]);

    /// <summary>The letters appended to the mailboxes from place <paramref name="from"/> on, and the place after them.</summary>
    public (IReadOnlyList<CitizenLetter> Letters, long Next) MailboxSince(long from)
    {
        lock (_mailboxInOrder)
            return (from >= _mailboxInOrder.Count ? [] : _mailboxInOrder.GetRange((int)from, _mailboxInOrder.Count - (int)from), _mailboxInOrder.Count);
    }

    public Task<int> DeleteBefore(LetterLane lane, string senderId, DateTimeOffset before, int max) =>
        Remove(l => l.Key.Item1 == lane && l.Value.SenderId == senderId && l.Value.At < before, max);

    public Task<int> Erase(LetterLane lane, string cpr) => Remove(l => l.Key.Item1 == lane && l.Value.Cpr == cpr, int.MaxValue);

    private Task<int> Remove(Func<KeyValuePair<(LetterLane, Guid), CitizenLetter>, bool> which, int max) =>
        Task.FromResult(_letters.Where(which).Take(max).ToList().Count(l => _letters.TryRemove(l)));
}

/// <summary>The lanes in PostgreSQL (tables <c>citizen_mailbox</c> and <c>nemsms_queue</c>, deploy/sql): one binary COPY
/// a call, unless some of the letters are there already.</summary>
public sealed class PostgresCitizenLaneStore(NpgsqlDataSource db) : ICitizenLaneStore
{
    public async Task Append(LetterLane lane, IReadOnlyList<CitizenLetter> letters)
    {
        var table = CitizenLanes.TableOf(lane);
        if (letters.Count == 0) return;
        try
        {
            await using var connection = await db.OpenConnectionAsync();
            await using var copy = await connection.BeginBinaryImportAsync($"COPY {table} (uuid, cpr, sender_id, title, at) FROM STDIN (FORMAT BINARY)");
            foreach (var l in letters)
            {
                await copy.StartRowAsync();
                await copy.WriteAsync(l.MessageUuid, NpgsqlDbType.Uuid);
                await copy.WriteAsync(l.Cpr, NpgsqlDbType.Text);
                await copy.WriteAsync(l.SenderId, NpgsqlDbType.Text);
                await copy.WriteAsync(l.Title, NpgsqlDbType.Text);
                await copy.WriteAsync(l.At, NpgsqlDbType.TimestampTz);
            }
            await copy.CompleteAsync();
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // A batch resuming after a crash appends letters it had appended: COPY stored none, this skips the repeats.
            await using var command = db.CreateCommand($"""
                INSERT INTO {table} (uuid, cpr, sender_id, title, at)
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
                ON CONFLICT (uuid) DO NOTHING
                """);
            command.Parameters.AddWithValue(letters.Select(l => l.MessageUuid).ToArray());
            command.Parameters.AddWithValue(letters.Select(l => l.Cpr).ToArray());
            command.Parameters.AddWithValue(letters.Select(l => l.SenderId).ToArray());
            command.Parameters.AddWithValue(letters.Select(l => l.Title).ToArray());
            command.Parameters.AddWithValue(letters.Select(l => l.At).ToArray());
            await command.ExecuteNonQueryAsync();
        }
    }

    public async Task<int> DeleteBefore(LetterLane lane, string senderId, DateTimeOffset before, int max)
    {
        var table = CitizenLanes.TableOf(lane);
        await using var command = db.CreateCommand($"""
            DELETE FROM {table} WHERE uuid = ANY(ARRAY(SELECT uuid FROM {table} WHERE sender_id = $1 AND at < $2 LIMIT $3))
            """);
        command.Parameters.AddWithValue(senderId);
        command.Parameters.AddWithValue(before);
        command.Parameters.AddWithValue(max);
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<int> Erase(LetterLane lane, string cpr)
    {
        await using var command = db.CreateCommand($"DELETE FROM {CitizenLanes.TableOf(lane)} WHERE cpr = $1");
        command.Parameters.AddWithValue(cpr);
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<CitizenLetter>> Of(LetterLane lane, string cpr)
    {
        await using var command = db.CreateCommand($"SELECT uuid, cpr, sender_id, title, at FROM {CitizenLanes.TableOf(lane)} WHERE cpr = $1 ORDER BY at, uuid");
        command.Parameters.AddWithValue(cpr);
        var found = new List<CitizenLetter>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            found.Add(new CitizenLetter(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)));
        return found;
    }
}

internal static class CitizenLanes
{
    public static string TableOf(LetterLane lane) => lane switch
    {
        LetterLane.CitizenMailbox => "citizen_mailbox",
        LetterLane.NemSms => "nemsms_queue",
        _ => throw new ArgumentOutOfRangeException(nameof(lane), lane, "not a citizen's lane"),
    };
}
