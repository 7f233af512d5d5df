using System.Collections.Concurrent;
using System.Text.Json;
using DigitalPost.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace DigitalPost.Infrastructure;

/// <summary>A letter for a recipient's case in its sender's archive; <see cref="CaseKey"/> names the case without
/// personal data.</summary>
public sealed record ArchiveEntry(string CaseKey, RecipientKind Kind, ArchivedLetter Letter);

/// <summary>The senders' archives: each recipient's case and its delivered letters with their receipts. Letters are
/// appended many at a time by their batches; a letter archived before is ignored.</summary>
public interface IArchiveStore
{
    Task Append(IReadOnlyList<ArchiveEntry> entries);
    Task<ArchiveCase?> Case(string caseKey);

    /// <summary>Deletes the archive entries of these letters (by message id), in whichever case they are.</summary>
    Task<int> DeleteLetters(IReadOnlyList<Guid> messageUuids);

    /// <summary>Deletes these cases whole (an erasure: a recipient's cases, one per sender).</summary>
    Task<int> DeleteCases(IReadOnlyCollection<string> caseKeys);
}

public sealed class MemoryArchiveStore(TimeProvider time) : IArchiveStore
{
    private sealed record OpenCase(RecipientKind Kind, DateTimeOffset CreatedAt, List<ArchivedLetter> Letters, HashSet<Guid> Seen);

    private readonly ConcurrentDictionary<string, OpenCase> _cases = new();

    public Task Append(IReadOnlyList<ArchiveEntry> entries)
    {
        foreach (var entry in entries)
        {
            var found = _cases.GetOrAdd(entry.CaseKey, _ => new OpenCase(entry.Kind, time.GetUtcNow(), [], []));
            lock (found)
                if (found.Seen.Add(entry.Letter.MessageUuid)) found.Letters.Add(entry.Letter);
        }
        return Task.CompletedTask;
    }

    public Task<ArchiveCase?> Case(string caseKey)
    {
        if (!_cases.TryGetValue(caseKey, out var found)) return Task.FromResult<ArchiveCase?>(null);
        lock (found) return Task.FromResult<ArchiveCase?>(new ArchiveCase(found.Kind, found.CreatedAt, [.. found.Letters]));
    }

    public Task<int> DeleteLetters(IReadOnlyList<Guid> messageUuids)
    {
        var gone = messageUuids.ToHashSet();
        var deleted = 0;
        foreach (var (key, found) in _cases)
            lock (found)
            {
                deleted += found.Letters.RemoveAll(l => gone.Contains(l.MessageUuid));
                found.Seen.ExceptWith(gone);
                // An emptied case goes too: as in the table, a case is its letters.
                if (found.Letters.Count == 0) _cases.TryRemove(KeyValuePair.Create(key, found));
            }
        return Task.FromResult(deleted);
    }

    public Task<int> DeleteCases(IReadOnlyCollection<string> caseKeys)
    {
        var deleted = 0;
        foreach (var key in caseKeys)
            if (_cases.TryRemove(key, out var found))
                lock (found) deleted += found.Letters.Count;
        return Task.FromResult(deleted);
    }
}

/// <summary>The archive in PostgreSQL (table <c>archive_letter</c>, deploy/sql): one row per archived letter, appended in
/// one statement per call; a plain COPY unless some of the letters are there already.</summary>
public sealed class PostgresArchiveStore(NpgsqlDataSource db, TimeProvider time) : IArchiveStore
{
    private readonly NpgsqlDataSource _db = db;

    public async Task Append(IReadOnlyList<ArchiveEntry> entries)
    {
        if (entries.Count == 0) return;
        var created = time.GetUtcNow();
        try
        {
            // The usual case, a batch archiving letters for the first time: one binary COPY.
            await using var connection = await _db.OpenConnectionAsync();
            await using var copy = await connection.BeginBinaryImportAsync("COPY archive_letter (case_key, kind, uuid, created_at, letter) FROM STDIN (FORMAT BINARY)");
            foreach (var e in entries)
            {
                await copy.StartRowAsync();
                await copy.WriteAsync(e.CaseKey, NpgsqlDbType.Text);
                await copy.WriteAsync((short)e.Kind, NpgsqlDbType.Smallint);
                await copy.WriteAsync(e.Letter.MessageUuid, NpgsqlDbType.Uuid);
                await copy.WriteAsync(created, NpgsqlDbType.TimestampTz);
                await copy.WriteAsync(Json(e.Letter), NpgsqlDbType.Json);
            }
            await copy.CompleteAsync();
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // Some were archived before (a batch's new activation appends its delivered letters again): COPY stored
            // none of them, this statement skips the repeats.
            await AppendSkippingRepeats(entries, created);
        }
    }

    private static string Json(ArchivedLetter letter) => JsonSerializer.Serialize(letter, PlatformJson.Options);

    private async Task AppendSkippingRepeats(IReadOnlyList<ArchiveEntry> entries, DateTimeOffset created)
    {
        await using var command = _db.CreateCommand("""
            INSERT INTO archive_letter (case_key, kind, uuid, created_at, letter)
            SELECT case_key, kind, uuid, $4, letter FROM unnest($1::text[], $2::smallint[], $3::uuid[], $5::json[]) AS e(case_key, kind, uuid, letter)
            ON CONFLICT (case_key, uuid) DO NOTHING
            """);
        command.Parameters.AddWithValue(entries.Select(e => e.CaseKey).ToArray());
        command.Parameters.AddWithValue(entries.Select(e => (short)e.Kind).ToArray());
        command.Parameters.AddWithValue(entries.Select(e => e.Letter.MessageUuid).ToArray());
        command.Parameters.AddWithValue(created);
        command.Parameters.Add(new NpgsqlParameter { Value = entries.Select(e => Json(e.Letter)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Json });
        await command.ExecuteNonQueryAsync();
    }

    public async Task<int> DeleteLetters(IReadOnlyList<Guid> messageUuids)
    {
        if (messageUuids.Count == 0) return 0;
        await using var command = _db.CreateCommand("DELETE FROM archive_letter WHERE uuid = ANY($1)");
        command.Parameters.AddWithValue(messageUuids.ToArray());
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<int> DeleteCases(IReadOnlyCollection<string> caseKeys)
    {
        await using var command = _db.CreateCommand("DELETE FROM archive_letter WHERE case_key = ANY($1)");
        command.Parameters.AddWithValue(caseKeys.ToArray());
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<ArchiveCase?> Case(string caseKey)
    {
        await using var command = _db.CreateCommand("SELECT kind, created_at, letter::text FROM archive_letter WHERE case_key = $1 ORDER BY created_at, uuid");
        command.Parameters.AddWithValue(caseKey);
        await using var reader = await command.ExecuteReaderAsync();
        RecipientKind? kind = null;
        DateTimeOffset created = default;
        var letters = new List<ArchivedLetter>();
        while (await reader.ReadAsync())
        {
            kind ??= (RecipientKind)reader.GetInt16(0);
            if (letters.Count == 0) created = reader.GetFieldValue<DateTimeOffset>(1);
            letters.Add(JsonSerializer.Deserialize<ArchivedLetter>(reader.GetString(2), PlatformJson.Options)!);
        }
        return kind is { } k ? new ArchiveCase(k, created, letters) : null;
    }
}
