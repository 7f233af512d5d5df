using DigitalPost.Contracts;
using DigitalPost.Domain.Notifications;
using Npgsql;
using NpgsqlTypes;

namespace DigitalPost.Infrastructure;

/// <summary>A notification in the outbox, as its channel's sender takes it. <see cref="Id"/> is its idempotency key
/// towards the provider (and the e-mail's Message-ID): it carries no personal data.</summary>
public sealed record QueuedNotification(long Id, NotificationChannel Channel, string Address, DateTimeOffset Due, int Attempts);

/// <summary>The notifications of new post: the sweep that queues them for the letters appended to citizens' mailboxes
/// since the last one, and the outbox their senders drain.</summary>
public interface INotificationStore
{
    /// <summary>Queues the notifications (<see cref="NotificationWindow"/>) of the letters appended since the last
    /// sweep, and moves the watermark past them, in one step: a crash leaves either both or neither. Returns how many
    /// it queued.</summary>
    Task<int> Sweep(DateTimeOffset now, TimeSpan window);

    /// <summary>Up to <paramref name="limit"/> of the channel's notifications not sent yet and due, oldest first.</summary>
    Task<IReadOnlyList<QueuedNotification>> Due(NotificationChannel channel, DateTimeOffset now, int limit);

    Task Sent(NotificationChannel channel, IReadOnlyList<long> ids, DateTimeOffset now);

    /// <summary>The notifications failed: each is tried again from its time, its attempts counted.</summary>
    Task Failed(IReadOnlyList<(long Id, DateTimeOffset RetryAt)> failed, string error);

    /// <summary>Forgets sent notifications due before <paramref name="before"/>: older than a window, they no longer
    /// decide when a citizen's next one may be.</summary>
    Task Forget(DateTimeOffset before);

    /// <summary>Deletes the citizen's notifications, queued or sent, with the address each went to: an erasure.</summary>
    Task<int> Erase(string cpr);

    Task<NotificationStatus> Status(DateTimeOffset now);
}

/// <summary>The embedded default: the outbox in memory, the letters read from the memory mailboxes in the order they
/// were appended, the choices from the memory registry.</summary>
public sealed class MemoryNotificationStore(MemoryCitizenLaneStore mailboxes, MemoryRecipientRegistryStore registry) : INotificationStore
{
    private sealed class Row(long id, string cpr, PlannedNotification planned)
    {
        public long Id { get; } = id;
        public string Cpr { get; } = cpr;
        public PlannedNotification Planned { get; } = planned;
        public DateTimeOffset NextAt { get; set; } = planned.Due;
        public int Attempts { get; set; }
        public DateTimeOffset? SentAt { get; set; }
        public string? LastError { get; set; }
    }

    private readonly object _lock = new();
    private readonly Dictionary<long, Row> _rows = [];
    private readonly Dictionary<(string, NotificationChannel), DateTimeOffset> _lastDue = [];
    private readonly Dictionary<NotificationChannel, (long Sent, DateTimeOffset? At)> _sent = [];
    private long _watermark;
    private long _nextId;
    private long _queued;
    private DateTimeOffset? _sweptAt;

    public Task<int> Sweep(DateTimeOffset now, TimeSpan window)
    {
        lock (_lock)
        {
            var (letters, next) = mailboxes.MailboxSince(_watermark);
            var planned = NotificationWindow.Plan(letters.Select(l => (l.Cpr, l.At)),
                cpr => registry.Citizen(cpr) is { } c ? (c.NotificationEmail, c.NotificationMobile) : null,
                (cpr, channel) => _lastDue.TryGetValue((cpr, channel), out var due) ? due : null, now, window);
            foreach (var p in planned)
            {
                var id = ++_nextId;
                _rows[id] = new Row(id, p.Cpr, p);
                _lastDue[(p.Cpr, p.Channel)] = p.Due;
            }
            (_watermark, _sweptAt, _queued) = (next, now, _queued + planned.Count);
            return Task.FromResult(planned.Count);
        }
    }

    public Task<IReadOnlyList<QueuedNotification>> Due(NotificationChannel channel, DateTimeOffset now, int limit)
    {
        lock (_lock)
            return Task.FromResult<IReadOnlyList<QueuedNotification>>([.. _rows.Values
                .Where(r => r.Planned.Channel == channel && r.SentAt is null && r.NextAt <= now).OrderBy(r => r.NextAt).ThenBy(r => r.Id).Take(limit)
                .Select(r => new QueuedNotification(r.Id, channel, r.Planned.Address, r.Planned.Due, r.Attempts))]);
    }

    public Task Sent(NotificationChannel channel, IReadOnlyList<long> ids, DateTimeOffset now)
    {
        lock (_lock)
        {
            var count = 0;
            foreach (var id in ids)
                if (_rows.TryGetValue(id, out var row) && row.SentAt is null)
                    (row.SentAt, count) = (now, count + 1);
            var (sent, _) = _sent.GetValueOrDefault(channel);
            _sent[channel] = (sent + count, now);
        }
        return Task.CompletedTask;
    }

    public Task Failed(IReadOnlyList<(long Id, DateTimeOffset RetryAt)> failed, string error)
    {
        lock (_lock)
            foreach (var (id, retryAt) in failed)
                if (_rows.TryGetValue(id, out var row)) (row.Attempts, row.NextAt, row.LastError) = (row.Attempts + 1, retryAt, error);
        return Task.CompletedTask;
    }

    public Task Forget(DateTimeOffset before)
    {
        lock (_lock)
        {
            foreach (var row in _rows.Values.Where(r => r.SentAt is not null && r.Planned.Due < before).ToList())
            {
                _rows.Remove(row.Id);
                if (_lastDue.TryGetValue((row.Cpr, row.Planned.Channel), out var last) && last == row.Planned.Due) _lastDue.Remove((row.Cpr, row.Planned.Channel));
            }
        }
        return Task.CompletedTask;
    }

    public Task<int> Erase(string cpr)
    {
        lock (_lock)
        {
            var rows = _rows.Values.Where(r => r.Cpr == cpr).ToList();
            foreach (var row in rows) _rows.Remove(row.Id);
            foreach (var channel in Enum.GetValues<NotificationChannel>()) _lastDue.Remove((cpr, channel));
            return Task.FromResult(rows.Count);
        }
    }

    public Task<NotificationStatus> Status(DateTimeOffset now)
    {
        lock (_lock)
            return Task.FromResult(new NotificationStatus(_sweptAt, _queued, [.. Enum.GetValues<NotificationChannel>().Select(channel =>
            {
                var rows = _rows.Values.Where(r => r.Planned.Channel == channel).ToList();
                var waiting = rows.Where(r => r.SentAt is null).ToList();
                var (sent, at) = _sent.GetValueOrDefault(channel);
                return new NotificationChannelCounts(channel, waiting.Count, waiting.Count(r => r.Attempts == 0 && r.NextAt > now), waiting.Count(r => r.Attempts > 0),
                    rows.Count - waiting.Count, sent, at, waiting.Where(r => r.LastError is not null).Select(r => r.LastError).FirstOrDefault());
            })]));
    }
}

/// <summary>The notifications in PostgreSQL (deploy/sql/021_notifications.sql): a sweep is one statement that reads the
/// letters appended by the transactions between its watermark and the oldest one still running, groups them by
/// citizen, joins the citizens' choices and their last notifications, inserts the new ones and moves the watermark.</summary>
public sealed class PostgresNotificationStore(NpgsqlDataSource db) : INotificationStore
{
    private const string SweepSql = """
        WITH mark AS (
            SELECT next_txid AS low, pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS high FROM notification_watermark),
        landed AS (
            SELECT m.cpr COLLATE "C" AS cpr, max(m.at) AS at FROM citizen_mailbox m, mark
            WHERE m.txid >= mark.low AND m.txid < mark.high GROUP BY 1),
        wanted AS (
            SELECT l.cpr, ch.channel, ch.address, l.at
            FROM landed l JOIN citizen c ON c.cpr = l.cpr
            CROSS JOIN LATERAL (VALUES (0::smallint, c.notify_email), (1::smallint, c.notify_mobile)) AS ch (channel, address)
            WHERE ch.address IS NOT NULL),
        planned AS (
            -- NotificationWindow.Due: nothing when the last notification is due after the latest letter landed,
            -- otherwise now, or a window after the last one.
            SELECT w.cpr, w.channel, w.address, greatest($1::timestamptz, last.due + $2::interval) AS due
            FROM wanted w LEFT JOIN LATERAL (
                SELECT max(o.due) AS due FROM notification_outbox o WHERE o.cpr = w.cpr AND o.channel = w.channel) last ON true
            WHERE last.due IS NULL OR last.due <= w.at),
        queued AS (
            INSERT INTO notification_outbox (cpr, channel, due, address, next_at)
            SELECT cpr, channel, due, address, due FROM planned
            ON CONFLICT (cpr, channel, due) DO NOTHING
            RETURNING 1),
        counted AS (SELECT count(*) AS n FROM queued)
        UPDATE notification_watermark SET next_txid = greatest(next_txid, (SELECT high FROM mark)), swept_at = $1,
            queued = queued + (SELECT n FROM counted)
        RETURNING (SELECT n FROM counted)
        """;

    public async Task<int> Sweep(DateTimeOffset now, TimeSpan window)
    {
        await using var command = db.CreateCommand(SweepSql);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(window);
        // A sweep after a long pause (a million letters) is one statement of many seconds.
        command.CommandTimeout = 0;
        return (int)(long)(await command.ExecuteScalarAsync() ?? 0L);
    }

    public async Task<IReadOnlyList<QueuedNotification>> Due(NotificationChannel channel, DateTimeOffset now, int limit)
    {
        await using var command = db.CreateCommand("""
            SELECT id, address, due, attempts FROM notification_outbox
            WHERE channel = $1 AND sent_at IS NULL AND next_at <= $2 ORDER BY next_at, id LIMIT $3
            """);
        command.Parameters.AddWithValue((short)channel);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(limit);
        var due = new List<QueuedNotification>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            due.Add(new QueuedNotification(reader.GetInt64(0), channel, reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetInt32(3)));
        return due;
    }

    public async Task Sent(NotificationChannel channel, IReadOnlyList<long> ids, DateTimeOffset now)
    {
        await using var command = db.CreateCommand("""
            WITH sent AS (UPDATE notification_outbox SET sent_at = $2, last_error = NULL WHERE id = ANY($1) AND sent_at IS NULL RETURNING 1)
            UPDATE notification_counts SET sent = sent + (SELECT count(*) FROM sent), last_sent_at = $2 WHERE channel = $3
            """);
        command.Parameters.AddWithValue(ids.ToArray());
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue((short)channel);
        await command.ExecuteNonQueryAsync();
    }

    public async Task Failed(IReadOnlyList<(long Id, DateTimeOffset RetryAt)> failed, string error)
    {
        await using var command = db.CreateCommand("""
            UPDATE notification_outbox o SET attempts = o.attempts + 1, next_at = f.retry_at, last_error = $3
            FROM unnest($1::bigint[], $2::timestamptz[]) AS f (id, retry_at) WHERE o.id = f.id AND o.sent_at IS NULL
            """);
        command.Parameters.AddWithValue(failed.Select(f => f.Id).ToArray());
        command.Parameters.AddWithValue(failed.Select(f => f.RetryAt).ToArray());
        command.Parameters.AddWithValue(error);
        await command.ExecuteNonQueryAsync();
    }

    public async Task Forget(DateTimeOffset before)
    {
        await using var command = db.CreateCommand("DELETE FROM notification_outbox WHERE sent_at IS NOT NULL AND due < $1");
        command.Parameters.AddWithValue(before);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<int> Erase(string cpr)
    {
        await using var command = db.CreateCommand("DELETE FROM notification_outbox WHERE cpr = $1");
        command.Parameters.AddWithValue(cpr);
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<NotificationStatus> Status(DateTimeOffset now)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT swept_at, queued FROM notification_watermark"));
        var counts = new NpgsqlBatchCommand("""
            SELECT k.channel, coalesce(o.waiting, 0), coalesce(o.deferred, 0), coalesce(o.retrying, 0), coalesce(o.sent, 0), k.sent, k.last_sent_at, o.last_error
            FROM notification_counts k LEFT JOIN (
                SELECT channel, count(*) FILTER (WHERE sent_at IS NULL) AS waiting,
                       count(*) FILTER (WHERE sent_at IS NULL AND attempts = 0 AND next_at > $1) AS deferred,
                       count(*) FILTER (WHERE sent_at IS NULL AND attempts > 0) AS retrying,
                       count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent,
                       max(last_error) FILTER (WHERE sent_at IS NULL) AS last_error
                FROM notification_outbox GROUP BY channel) o ON o.channel = k.channel
            ORDER BY k.channel
            """);
        counts.Parameters.Add(new NpgsqlParameter { Value = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        batch.BatchCommands.Add(counts);
        await using var reader = await batch.ExecuteReaderAsync();
        await reader.ReadAsync();
        var (sweptAt, queued) = (reader.IsDBNull(0) ? (DateTimeOffset?)null : reader.GetFieldValue<DateTimeOffset>(0), reader.GetInt64(1));
        await reader.NextResultAsync();
        var channels = new List<NotificationChannelCounts>();
        while (await reader.ReadAsync())
            channels.Add(new NotificationChannelCounts((NotificationChannel)reader.GetInt16(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
                reader.GetInt64(4), reader.GetInt64(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6), reader.IsDBNull(7) ? null : reader.GetString(7)));
        return new NotificationStatus(sweptAt, queued, channels);
    }
}
