using System.Collections.Concurrent;
using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Npgsql;

namespace DigitalPost.Ngdp;

/// <summary>NgDP's receipt statuses (upper-case names on the wire).</summary>
public enum ReceiptStatus { NotAllowed, Invalid, Received, Completed }

/// <summary>What NgDP tells a sender system about one MeMo it sent: taken in (<see cref="ReceiptStatus.Received"/>),
/// then finished (<see cref="ReceiptStatus.Completed"/>: delivered when <see cref="ErrorCode"/> is null, otherwise not
/// delivered, with the delivery's error code), or refused at intake (<see cref="ReceiptStatus.Invalid"/>,
/// <see cref="ReceiptStatus.NotAllowed"/>). Keyed by the message's UUID.</summary>
public sealed record NgdpReceipt(Guid MessageUuid, string SenderId, Guid TransmissionId, string? MessageId, ReceiptStatus Status,
    string? ErrorCode, string? ErrorMessage, DateTimeOffset TimeStamp);

/// <summary>A page of a sender's receipts, in the order they were taken in, and how many it has in all.</summary>
public sealed record ReceiptPage(IReadOnlyList<NgdpReceipt> Receipts, long Total);

/// <summary>A message that reached its final state, as the receipt of a MeMo that became it records it.</summary>
public sealed record MessageOutcome(Guid MessageUuid, MessageStatus Status, string? ErrorCode, string? ErrorText, DateTimeOffset At)
{
    public bool Delivered => Status is MessageStatus.Delivered or MessageStatus.DeliveredToVirk or MessageStatus.HandedToPostalService or MessageStatus.SentAsNemSms;
}

/// <summary>Told by a message grain when its message reaches its final state (a hook: messages not sent through the
/// NgDP face have no receipt, and the telling changes nothing for them).</summary>
public interface IMessageOutcomes
{
    Task Finished(MessageOutcome outcome);
}

/// <summary>The NgDP receipts of sender systems: memory (embedded default) or the table <c>ngdp_receipt</c>.</summary>
public interface INgdpReceiptStore : IMessageOutcomes
{
    /// <summary>Adds receipts; a message that has one keeps it, unless it was the same sender's refusal and the new one is
    /// <see cref="ReceiptStatus.Received"/> (the MeMo corrected and sent again). Answers the messages whose receipts were
    /// added or replaced.</summary>
    Task<IReadOnlySet<Guid>> Add(IReadOnlyList<NgdpReceipt> receipts);

    Task<NgdpReceipt?> Find(string senderId, Guid messageUuid);

    /// <summary>The sender's receipts, <paramref name="size"/> a page, pages counted from 0.</summary>
    Task<ReceiptPage> Page(string senderId, int page, int size);

    /// <summary>Whether the sender had the receipt (it is gone now).</summary>
    Task<bool> Delete(string senderId, Guid messageUuid);
}

public static class NgdpReceipts
{
    /// <summary>The receipt as the message's final state makes it; a receipt refused at intake stays as it is.</summary>
    public static NgdpReceipt Finish(this NgdpReceipt receipt, MessageOutcome outcome) =>
        receipt.Status != ReceiptStatus.Received && receipt.Status != ReceiptStatus.Completed ? receipt
        : receipt with
        {
            Status = ReceiptStatus.Completed,
            ErrorCode = outcome.Delivered ? null : outcome.ErrorCode ?? outcome.Status.ToString().ToUpperInvariant(),
            ErrorMessage = outcome.Delivered ? null : outcome.ErrorText,
            TimeStamp = outcome.At,
        };
}

/// <summary>The embedded default: receipts in memory, gone with the process like the rest of the embedded storage.</summary>
public sealed class MemoryNgdpReceiptStore : INgdpReceiptStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, (long Seq, NgdpReceipt Receipt)> _receipts = [];
    private readonly Dictionary<string, SortedList<long, Guid>> _bySender = [];
    private long _seq;

    public Task<IReadOnlySet<Guid>> Add(IReadOnlyList<NgdpReceipt> receipts)
    {
        var added = new HashSet<Guid>();
        lock (_gate)
            foreach (var receipt in receipts)
            {
                if (_receipts.TryGetValue(receipt.MessageUuid, out var existing))
                {
                    if (!Replaces(receipt, existing.Receipt)) continue;
                    _receipts[receipt.MessageUuid] = (existing.Seq, receipt);
                    added.Add(receipt.MessageUuid);
                    continue;
                }
                added.Add(receipt.MessageUuid);
                var seq = ++_seq;
                _receipts[receipt.MessageUuid] = (seq, receipt);
                if (!_bySender.TryGetValue(receipt.SenderId, out var list)) _bySender[receipt.SenderId] = list = [];
                list.Add(seq, receipt.MessageUuid);
            }
        return Task.FromResult<IReadOnlySet<Guid>>(added);
    }

    private static bool Replaces(NgdpReceipt receipt, NgdpReceipt existing) =>
        receipt.Status == ReceiptStatus.Received && existing.SenderId == receipt.SenderId
        && existing.Status is ReceiptStatus.Invalid or ReceiptStatus.NotAllowed;

    public Task Finished(MessageOutcome outcome)
    {
        lock (_gate)
            if (_receipts.TryGetValue(outcome.MessageUuid, out var entry)) _receipts[outcome.MessageUuid] = (entry.Seq, entry.Receipt.Finish(outcome));
        return Task.CompletedTask;
    }

    public Task<NgdpReceipt?> Find(string senderId, Guid messageUuid)
    {
        lock (_gate)
            return Task.FromResult(_receipts.TryGetValue(messageUuid, out var entry) && entry.Receipt.SenderId == senderId ? entry.Receipt : null);
    }

    public Task<ReceiptPage> Page(string senderId, int page, int size)
    {
        lock (_gate)
        {
            if (!_bySender.TryGetValue(senderId, out var list)) return Task.FromResult(new ReceiptPage([], 0));
            var receipts = list.Values.Skip(page * size).Take(size).Select(id => _receipts[id].Receipt).ToList();
            return Task.FromResult(new ReceiptPage(receipts, list.Count));
        }
    }

    public Task<bool> Delete(string senderId, Guid messageUuid)
    {
        lock (_gate)
        {
            if (!_receipts.TryGetValue(messageUuid, out var entry) || entry.Receipt.SenderId != senderId) return Task.FromResult(false);
            _receipts.Remove(messageUuid);
            _bySender[senderId].Remove(entry.Seq);
            return Task.FromResult(true);
        }
    }
}

/// <summary>Receipts in <c>ngdp_receipt</c> (deploy/sql/018). A message grain's final state is recorded through a group
/// commit: the outcomes that arrive while one update runs go together in the next, one statement for all.</summary>
public sealed class PostgresNgdpReceiptStore : INgdpReceiptStore
{
    private const string Columns = "message_uuid, sender_id, transmission_id, message_id, status, error_code, error_message, time_stamp";
    private readonly NpgsqlDataSource _db;
    private readonly GroupCommit<MessageOutcome, MessageOutcome> _finished;

    public PostgresNgdpReceiptStore(NpgsqlDataSource db)
    {
        _db = db;
        _finished = new GroupCommit<MessageOutcome, MessageOutcome>(Finish, o => o, maxKeys: 5_000);
    }

    public async Task<IReadOnlySet<Guid>> Add(IReadOnlyList<NgdpReceipt> receipts)
    {
        var added = new HashSet<Guid>();
        if (receipts.Count == 0) return added;
        await using var command = _db.CreateCommand($"""
            INSERT INTO ngdp_receipt ({Columns})
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
            ON CONFLICT (message_uuid) DO UPDATE SET (transmission_id, message_id, status, error_code, error_message, time_stamp) =
                (EXCLUDED.transmission_id, EXCLUDED.message_id, EXCLUDED.status, EXCLUDED.error_code, EXCLUDED.error_message, EXCLUDED.time_stamp)
                WHERE EXCLUDED.status = 'Received' AND ngdp_receipt.sender_id = EXCLUDED.sender_id AND ngdp_receipt.status IN ('Invalid', 'NotAllowed')
            RETURNING message_uuid
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. receipts.Select(r => r.MessageUuid)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. receipts.Select(r => r.SenderId)] });
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. receipts.Select(r => r.TransmissionId)] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. receipts.Select(r => r.MessageId)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. receipts.Select(r => r.Status.ToString())] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. receipts.Select(r => r.ErrorCode)] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. receipts.Select(r => r.ErrorMessage)] });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. receipts.Select(r => r.TimeStamp.ToUniversalTime())] });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) added.Add(reader.GetGuid(0));
        return added;
    }

    public Task Finished(MessageOutcome outcome) => _finished.Submit([outcome]);

    private async Task<IReadOnlyList<MessageOutcome>> Finish(IReadOnlyList<MessageOutcome> outcomes)
    {
        // The same rule as NgdpReceipts.Finish, in SQL: receipts refused at intake are left alone; messages without a
        // receipt match no row.
        await using var command = _db.CreateCommand("""
            UPDATE ngdp_receipt r SET status = 'Completed', error_code = o.error_code, error_message = o.error_message, time_stamp = o.at
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS o(message_uuid, error_code, error_message, at)
            WHERE r.message_uuid = o.message_uuid AND r.status IN ('Received', 'Completed')
            """);
        var finished = outcomes.Select(o => new NgdpReceipt(o.MessageUuid, "", Guid.Empty, null, ReceiptStatus.Received, null, null, o.At).Finish(o)).ToList();
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. finished.Select(r => r.MessageUuid)] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. finished.Select(r => r.ErrorCode)] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. finished.Select(r => r.ErrorMessage)] });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. finished.Select(r => r.TimeStamp.ToUniversalTime())] });
        await command.ExecuteNonQueryAsync();
        return outcomes;
    }

    public async Task<NgdpReceipt?> Find(string senderId, Guid messageUuid)
    {
        await using var command = _db.CreateCommand($"SELECT {Columns} FROM ngdp_receipt WHERE message_uuid = $1 AND sender_id = $2");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = messageUuid });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = senderId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    public async Task<ReceiptPage> Page(string senderId, int page, int size)
    {
        var (receipts, total) = await PostgresPages.Read(_db, "ngdp_receipt", Columns, "sender_id", senderId, page, size, Read);
        return new ReceiptPage(receipts, total);
    }

    public async Task<bool> Delete(string senderId, Guid messageUuid)
    {
        await using var command = _db.CreateCommand("DELETE FROM ngdp_receipt WHERE message_uuid = $1 AND sender_id = $2");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = messageUuid });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = senderId });
        return await command.ExecuteNonQueryAsync() > 0;
    }

    private static NgdpReceipt Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), reader.GetGuid(2), reader.IsDBNull(3) ? null : reader.GetString(3),
        Enum.Parse<ReceiptStatus>(reader.GetString(4)), reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.GetFieldValue<DateTimeOffset>(7));
}
