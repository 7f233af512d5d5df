using System.Collections.Concurrent;
using System.Globalization;
using DigitalPost.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace DigitalPost.Infrastructure;

/// <summary>A job in the remote-print queue: waiting to be printed (<see cref="MessageStatus.SentToPrint"/>) or to be
/// handed to the postal service (<see cref="MessageStatus.Printed"/>) at <see cref="NextAt"/>.</summary>
public sealed record QueuedPrint(PrintJob Job, MessageStatus Status, DateTimeOffset NextAt);

/// <summary>The remote-print queue (fjernprint). Batches queue many jobs a call, message grains one; a job queued
/// before (by its message id) is left as it is. Every step is conditional on the job's status, so a step repeated
/// after a crash changes nothing.</summary>
public interface IPrintStore
{
    Task Enqueue(IReadOnlyList<QueuedPrint> jobs);

    /// <summary>Jobs whose next step is due, oldest first.</summary>
    Task<IReadOnlyList<QueuedPrint>> Due(DateTimeOffset now, int max);

    /// <summary>Moves printed jobs to wait for the postal service until <paramref name="handOverAt"/>, and drops the
    /// jobs handed over.</summary>
    Task Advance(IReadOnlyList<Guid> printed, DateTimeOffset handOverAt, IReadOnlyList<Guid> handedOver);

    Task<(int WaitingToPrint, int Printed, DateTimeOffset? NextAt)> Counts();

    /// <summary>Drops the jobs of these letters (by message id), printed or not: their letters are deleted.</summary>
    Task<int> Delete(IReadOnlyList<Guid> messageUuids);
}

public sealed class MemoryPrintStore : IPrintStore
{
    private readonly ConcurrentDictionary<Guid, QueuedPrint> _jobs = new();

    public Task Enqueue(IReadOnlyList<QueuedPrint> jobs)
    {
        foreach (var job in jobs) _jobs.TryAdd(job.Job.MessageUuid, job);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<QueuedPrint>> Due(DateTimeOffset now, int max) =>
        Task.FromResult<IReadOnlyList<QueuedPrint>>([.. _jobs.Values.Where(j => j.NextAt <= now).OrderBy(j => j.NextAt).Take(max)]);

    public Task Advance(IReadOnlyList<Guid> printed, DateTimeOffset handOverAt, IReadOnlyList<Guid> handedOver)
    {
        foreach (var uuid in handedOver) _jobs.TryRemove(uuid, out _);
        foreach (var uuid in printed)
            if (_jobs.TryGetValue(uuid, out var job) && job.Status == MessageStatus.SentToPrint)
                _jobs.TryUpdate(uuid, job with { Status = MessageStatus.Printed, NextAt = handOverAt }, job);
        return Task.CompletedTask;
    }

    public Task<(int WaitingToPrint, int Printed, DateTimeOffset? NextAt)> Counts()
    {
        var jobs = _jobs.Values.ToList();
        return Task.FromResult((jobs.Count(j => j.Status == MessageStatus.SentToPrint), jobs.Count(j => j.Status == MessageStatus.Printed),
            jobs.Count > 0 ? jobs.Min(j => j.NextAt) : (DateTimeOffset?)null));
    }

    public Task<int> Delete(IReadOnlyList<Guid> messageUuids) => Task.FromResult(messageUuids.Count(uuid => _jobs.TryRemove(uuid, out _)));
}

/// <summary>The queue in PostgreSQL (table <c>print_job</c>, deploy/sql): a batch's jobs in one statement.</summary>
public sealed class PostgresPrintStore(NpgsqlDataSource db) : IPrintStore
{
    private const string Columns = "uuid, batch_id, row, copy, address, documents, status, next_at, stored_files";

    public async Task Enqueue(IReadOnlyList<QueuedPrint> jobs)
    {
        if (jobs.Count == 0) return;
        // Few next to a batch's other letters, and a repeat is skipped in the same statement: no COPY needed.
        await using var command = db.CreateCommand($"""
            INSERT INTO print_job ({Columns})
            SELECT j.uuid, j.batch_id, j.row, j.copy, string_to_array(j.address, chr(10)), j.documents, j.status, j.next_at,
                string_to_array(j.stored_files, ' ')
            FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::int[], $5::text[], $6::int[], $7::smallint[], $8::timestamptz[], $9::text[])
                AS j(uuid, batch_id, row, copy, address, documents, status, next_at, stored_files)
            ON CONFLICT (uuid) DO NOTHING
            """);
        command.Parameters.AddWithValue(jobs.Select(j => j.Job.MessageUuid).ToArray());
        command.Parameters.Add(new NpgsqlParameter { Value = jobs.Select(j => (object?)j.Job.Letter?.BatchId ?? DBNull.Value).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = jobs.Select(j => (object?)j.Job.Letter?.Row ?? DBNull.Value).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = jobs.Select(j => (object?)j.Job.Letter?.Copy ?? DBNull.Value).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        // An address line never holds a line break (the CSV reader splits lines on '|'), so one text a job carries them.
        command.Parameters.AddWithValue(jobs.Select(j => string.Join('\n', j.Job.Address)).ToArray());
        command.Parameters.AddWithValue(jobs.Select(j => j.Job.Documents).ToArray());
        command.Parameters.AddWithValue(jobs.Select(j => (short)j.Status).ToArray());
        command.Parameters.AddWithValue(jobs.Select(j => j.NextAt).ToArray());
        command.Parameters.Add(new NpgsqlParameter
        {
            Value = jobs.Select(j => j.Job.StoredFiles is { Count: > 0 } files ? string.Join(' ', files.Select(f => $"{f.Document}/{f.File}")) : (object)DBNull.Value).ToArray(),
            NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text,
        });
        await command.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<QueuedPrint>> Due(DateTimeOffset now, int max)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} FROM print_job WHERE next_at <= $1 ORDER BY next_at LIMIT $2");
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(max);
        var due = new List<QueuedPrint>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var uuid = reader.GetGuid(0);
            var letter = reader.IsDBNull(1) ? null : new BatchRef(reader.GetGuid(1), reader.GetInt32(2), reader.GetInt32(3));
            var files = reader.IsDBNull(8) ? null : reader.GetFieldValue<string[]>(8).Select(f => f.Split('/'))
                .Select(f => new DocumentKey(uuid, int.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture))).ToList();
            due.Add(new QueuedPrint(new PrintJob(uuid, reader.GetFieldValue<string[]>(4), reader.GetInt32(5), letter, files),
                (MessageStatus)reader.GetInt16(6), reader.GetFieldValue<DateTimeOffset>(7)));
        }
        return due;
    }

    public async Task Advance(IReadOnlyList<Guid> printed, DateTimeOffset handOverAt, IReadOnlyList<Guid> handedOver)
    {
        await using var batch = db.CreateBatch();
        var drop = new NpgsqlBatchCommand("DELETE FROM print_job WHERE uuid = ANY($1)");
        drop.Parameters.AddWithValue(handedOver.ToArray());
        var move = new NpgsqlBatchCommand("UPDATE print_job SET status = $2, next_at = $3 WHERE uuid = ANY($1) AND status = $4");
        move.Parameters.AddWithValue(printed.ToArray());
        move.Parameters.AddWithValue((short)MessageStatus.Printed);
        move.Parameters.AddWithValue(handOverAt);
        move.Parameters.AddWithValue((short)MessageStatus.SentToPrint);
        batch.BatchCommands.Add(drop);
        batch.BatchCommands.Add(move);
        await batch.ExecuteNonQueryAsync();
    }

    public async Task<int> Delete(IReadOnlyList<Guid> messageUuids)
    {
        if (messageUuids.Count == 0) return 0;
        await using var command = db.CreateCommand("DELETE FROM print_job WHERE uuid = ANY($1)");
        command.Parameters.AddWithValue(messageUuids.ToArray());
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<(int WaitingToPrint, int Printed, DateTimeOffset? NextAt)> Counts()
    {
        await using var command = db.CreateCommand("SELECT count(*) FILTER (WHERE status = $1), count(*) FILTER (WHERE status = $2), min(next_at) FROM print_job");
        command.Parameters.AddWithValue((short)MessageStatus.SentToPrint);
        command.Parameters.AddWithValue((short)MessageStatus.Printed);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return ((int)reader.GetInt64(0), (int)reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2));
    }
}
