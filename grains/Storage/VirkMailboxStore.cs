using DigitalPost.Contracts;
using DigitalPost.Domain;
using Npgsql;

namespace DigitalPost.Infrastructure;

/// <summary>Organisations' Virk mailboxes (Virk-postkassen) and the history of moves out of them. A letter lands once
/// (by its message id); a move takes letters out and records them in one step, so each letter is moved at most once,
/// whichever of two moves at the same time comes first.</summary>
public interface IVirkMailboxStore
{
    Task Add(string cvr, VirkMailItem item);

    /// <summary>The letters the filter takes, oldest first.</summary>
    Task<VirkMailboxPage> List(string cvr, VirkMailboxFilter filter, int skip, int take);

    Task<int> Count(string cvr);

    /// <summary>Takes the requested letters out of the mailbox into the move. A move that was made before (by its id)
    /// is answered as it was made and takes nothing more.</summary>
    Task<VirkMove> Move(VirkMove move, VirkMoveRequest request);

    Task<VirkMove?> FindMove(Guid moveId);

    /// <summary>The organisation's moves, newest first.</summary>
    Task<IReadOnlyList<VirkMove>> Moves(string cvr, int skip, int take);

    /// <summary>The letters of a move in the order it redelivers them.</summary>
    Task<IReadOnlyList<VirkMovedLetter>> MovedLetters(Guid moveId, int skip, int take);

    /// <summary>Records how many of the move's letters are back in delivery; it only grows.</summary>
    Task Redelivered(Guid moveId, int count);
}

public sealed class MemoryVirkMailboxStore : IVirkMailboxStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<Guid, VirkMailItem>> _mailboxes = [];
    private readonly Dictionary<Guid, (VirkMove Move, List<VirkMovedLetter> Letters)> _moves = [];

    public Task Add(string cvr, VirkMailItem item)
    {
        lock (_lock)
        {
            if (!_mailboxes.TryGetValue(cvr, out var mailbox)) _mailboxes[cvr] = mailbox = [];
            mailbox.TryAdd(item.MessageUuid, item);
        }
        return Task.CompletedTask;
    }

    public Task<VirkMailboxPage> List(string cvr, VirkMailboxFilter filter, int skip, int take)
    {
        lock (_lock)
        {
            var taken = Select(cvr, filter, null);
            return Task.FromResult(new VirkMailboxPage(taken.Count, [.. taken.Skip(skip).Take(take)]));
        }
    }

    public Task<int> Count(string cvr)
    {
        lock (_lock) return Task.FromResult(_mailboxes.GetValueOrDefault(cvr)?.Count ?? 0);
    }

    public Task<VirkMove> Move(VirkMove move, VirkMoveRequest request)
    {
        lock (_lock)
        {
            if (_moves.TryGetValue(move.MoveId, out var made)) return Task.FromResult(made.Move);
            var taken = Select(move.Cvr, request.Filter, request.All ? null : request.MessageUuids);
            foreach (var item in taken) _mailboxes[move.Cvr].Remove(item.MessageUuid);
            var letters = taken.Select(i => new VirkMovedLetter(i.MessageUuid, VirkMoves.ContactPointOf(request.Target, i))).ToList();
            var recorded = move with { Moved = letters.Count, Redelivered = 0 };
            _moves[move.MoveId] = (recorded, letters);
            return Task.FromResult(recorded);
        }
    }

    public Task<VirkMove?> FindMove(Guid moveId)
    {
        lock (_lock) return Task.FromResult(_moves.TryGetValue(moveId, out var made) ? made.Move : null);
    }

    public Task<IReadOnlyList<VirkMove>> Moves(string cvr, int skip, int take)
    {
        lock (_lock)
            return Task.FromResult<IReadOnlyList<VirkMove>>([.. _moves.Values.Select(m => m.Move).Where(m => m.Cvr == cvr)
                .OrderByDescending(m => m.MovedAt).ThenBy(m => m.MoveId).Skip(skip).Take(take)]);
    }

    public Task<IReadOnlyList<VirkMovedLetter>> MovedLetters(Guid moveId, int skip, int take)
    {
        lock (_lock)
            return Task.FromResult<IReadOnlyList<VirkMovedLetter>>(_moves.TryGetValue(moveId, out var made) ? [.. made.Letters.Skip(skip).Take(take)] : []);
    }

    public Task Redelivered(Guid moveId, int count)
    {
        lock (_lock)
            if (_moves.TryGetValue(moveId, out var made) && count > made.Move.Redelivered)
                _moves[moveId] = made with { Move = made.Move with { Redelivered = count } };
        return Task.CompletedTask;
    }

    private List<VirkMailItem> Select(string cvr, VirkMailboxFilter filter, IReadOnlyList<Guid>? only)
    {
        var chosen = only?.ToHashSet();
        return [.. (_mailboxes.GetValueOrDefault(cvr)?.Values ?? Enumerable.Empty<VirkMailItem>())
            .Where(i => (chosen is null || chosen.Contains(i.MessageUuid)) && VirkMoves.Takes(filter, i))
            .OrderBy(i => i.DeliveredAt).ThenBy(i => i.MessageUuid)];
    }
}

/// <summary>The mailboxes in PostgreSQL (tables <c>virk_mailbox</c>, <c>virk_move</c>, <c>virk_move_letter</c>,
/// deploy/sql). A move is one transaction: the letters are deleted from the mailbox and inserted into the move by one
/// statement, so a hundred thousand letters move without leaving the database.</summary>
public sealed class PostgresVirkMailboxStore(NpgsqlDataSource db) : IVirkMailboxStore
{
    // $1 cvr, $2 from, $3 to, $4 original contact point, $5 reason text; the uuid list, when there is one, is $6.
    private const string Where = """
        cvr = $1 AND ($2::timestamptz IS NULL OR delivered_at >= $2) AND ($3::timestamptz IS NULL OR delivered_at < $3)
        AND ($4::text IS NULL OR original_contact_point_id = $4) AND ($5::text IS NULL OR strpos(lower(reason), lower($5)) > 0)
        """;
    private const string MoveColumns = "move_id, cvr, moved_at, moved_by, contact_point_id, to_original_contact_point, moved, redelivered";

    public async Task Add(string cvr, VirkMailItem item)
    {
        await using var command = db.CreateCommand("""
            INSERT INTO virk_mailbox (cvr, uuid, delivered_at, original_contact_point_id, reason) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (cvr, uuid) DO NOTHING
            """);
        command.Parameters.AddWithValue(cvr);
        command.Parameters.AddWithValue(item.MessageUuid);
        command.Parameters.AddWithValue(item.DeliveredAt);
        command.Parameters.AddWithValue((object?)item.OriginalContactPointId ?? DBNull.Value);
        command.Parameters.AddWithValue(item.Reason);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<VirkMailboxPage> List(string cvr, VirkMailboxFilter filter, int skip, int take)
    {
        await using var command = db.CreateCommand($"""
            SELECT uuid, delivered_at, original_contact_point_id, reason, count(*) OVER () FROM virk_mailbox WHERE {Where}
            ORDER BY delivered_at, uuid OFFSET $6 LIMIT $7
            """);
        AddFilter(command.Parameters, cvr, filter);
        command.Parameters.AddWithValue(skip);
        command.Parameters.AddWithValue(take);
        var items = new List<VirkMailItem>();
        var total = 0;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            items.Add(new VirkMailItem(reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3)));
            total = (int)reader.GetInt64(4);
        }
        // A page past the end has no row to carry the total.
        return new VirkMailboxPage(items.Count > 0 || skip == 0 ? total : await CountWhere(cvr, filter), items);
    }

    public Task<int> Count(string cvr) => CountWhere(cvr, VirkMailboxFilter.None);

    public async Task<VirkMove> Move(VirkMove move, VirkMoveRequest request)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var claim = new NpgsqlCommand($"""
            INSERT INTO virk_move ({MoveColumns}) VALUES ($1, $2, $3, $4, $5, $6, 0, 0) ON CONFLICT (move_id) DO NOTHING
            """, connection, transaction))
        {
            claim.Parameters.AddWithValue(move.MoveId);
            claim.Parameters.AddWithValue(move.Cvr);
            claim.Parameters.AddWithValue(move.MovedAt);
            claim.Parameters.AddWithValue(move.MovedBy);
            claim.Parameters.AddWithValue((object?)move.Target.ContactPointId ?? DBNull.Value);
            claim.Parameters.AddWithValue(move.Target.ToOriginalContactPoint);
            if (await claim.ExecuteNonQueryAsync() == 0)
            {
                await transaction.RollbackAsync();
                return (await FindMove(move.MoveId))!;
            }
        }
        var only = !request.All && request.MessageUuids is { } uuids ? uuids.ToArray() : null;
        await using (var take = new NpgsqlCommand($"""
            WITH taken AS (
                DELETE FROM virk_mailbox WHERE {Where} AND ($6::uuid[] IS NULL OR uuid = ANY($6))
                RETURNING uuid, delivered_at, original_contact_point_id),
            recorded AS (
                INSERT INTO virk_move_letter (move_id, seq, uuid, contact_point_id)
                SELECT $7, row_number() OVER (ORDER BY delivered_at, uuid) - 1, uuid,
                    CASE WHEN $8 THEN original_contact_point_id ELSE $9 END
                FROM taken RETURNING 1)
            UPDATE virk_move SET moved = (SELECT count(*) FROM recorded) WHERE move_id = $7
            """, connection, transaction))
        {
            AddFilter(take.Parameters, move.Cvr, request.Filter);
            take.Parameters.Add(new NpgsqlParameter { Value = (object?)only ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Uuid });
            take.Parameters.AddWithValue(move.MoveId);
            take.Parameters.AddWithValue(move.Target.ToOriginalContactPoint);
            take.Parameters.AddWithValue((object?)move.Target.ContactPointId ?? DBNull.Value);
            await take.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
        return (await FindMove(move.MoveId))!;
    }

    public async Task<VirkMove?> FindMove(Guid moveId)
    {
        await using var command = db.CreateCommand($"SELECT {MoveColumns} FROM virk_move WHERE move_id = $1");
        command.Parameters.AddWithValue(moveId);
        return (await ReadMoves(command)).SingleOrDefault();
    }

    public async Task<IReadOnlyList<VirkMove>> Moves(string cvr, int skip, int take)
    {
        await using var command = db.CreateCommand($"SELECT {MoveColumns} FROM virk_move WHERE cvr = $1 ORDER BY moved_at DESC, move_id OFFSET $2 LIMIT $3");
        command.Parameters.AddWithValue(cvr);
        command.Parameters.AddWithValue(skip);
        command.Parameters.AddWithValue(take);
        return await ReadMoves(command);
    }

    public async Task<IReadOnlyList<VirkMovedLetter>> MovedLetters(Guid moveId, int skip, int take)
    {
        await using var command = db.CreateCommand("SELECT uuid, contact_point_id FROM virk_move_letter WHERE move_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3");
        command.Parameters.AddWithValue(moveId);
        command.Parameters.AddWithValue(skip);
        command.Parameters.AddWithValue(take);
        var letters = new List<VirkMovedLetter>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) letters.Add(new VirkMovedLetter(reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetString(1)));
        return letters;
    }

    public async Task Redelivered(Guid moveId, int count)
    {
        await using var command = db.CreateCommand("UPDATE virk_move SET redelivered = $2 WHERE move_id = $1 AND redelivered < $2");
        command.Parameters.AddWithValue(moveId);
        command.Parameters.AddWithValue(count);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<int> CountWhere(string cvr, VirkMailboxFilter filter)
    {
        await using var command = db.CreateCommand($"SELECT count(*) FROM virk_mailbox WHERE {Where}");
        AddFilter(command.Parameters, cvr, filter);
        return (int)(long)(await command.ExecuteScalarAsync())!;
    }

    private static void AddFilter(NpgsqlParameterCollection parameters, string cvr, VirkMailboxFilter filter)
    {
        parameters.AddWithValue(cvr);
        parameters.Add(new NpgsqlParameter { Value = (object?)filter.From ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        parameters.Add(new NpgsqlParameter { Value = (object?)filter.To ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        parameters.Add(new NpgsqlParameter { Value = (object?)filter.OriginalContactPointId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter { Value = (object?)filter.ReasonContains ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
    }

    private static async Task<IReadOnlyList<VirkMove>> ReadMoves(NpgsqlCommand command)
    {
        var moves = new List<VirkMove>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            moves.Add(new VirkMove(reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3),
                new VirkMoveTarget(reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetBoolean(5)), reader.GetInt32(6), reader.GetInt32(7)));
        return moves;
    }
}
