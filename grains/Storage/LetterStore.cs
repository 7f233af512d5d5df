using System.Collections.Concurrent;
using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using Npgsql;
using NpgsqlTypes;

namespace DigitalPost.Infrastructure;

/// <summary>Where the letters of merge batches live: one record per letter, written in bulk by its batch, and the
/// bulk lane's delivered state written by the receipts themselves. It is the durable state of a letter that never
/// needed a message grain of its own.</summary>
public interface ILetterStore
{
    Task<Dictionary<long, LetterRecord>> Load(Guid batchId);

    /// <summary>The batch's letters of these rows (ranges from first to last row, both included): a partition's share.</summary>
    Task<Dictionary<long, LetterRecord>> Load(Guid batchId, IReadOnlyList<(int First, int Last)> rows);

    /// <summary>A page of the batch's letters in row and copy order; with <paramref name="errorsOnly"/> only failed,
    /// returned and failing ones.</summary>
    Task<IReadOnlyList<LetterView>> Page(Guid batchId, bool errorsOnly, int skip, int take);

    /// <summary>Stores the letters as they are now. A final state is never overwritten by an older one of the same
    /// generation: a receipt may have finished a letter since its batch last looked. Where a letter's message grain
    /// stored its state on the row, the row keeps that state (<see cref="LetterRows.KeepsMessageState"/>).</summary>
    Task Save(Guid batchId, IReadOnlyCollection<LetterRecord> letters, Func<LetterRecord, string> caseKeyOf);

    /// <summary>Stores letters that their batch has not stored before: the cheap path of a first dispatch. Where one
    /// is stored already (a dispatch interrupted after its save), the whole call is <see cref="Save"/> instead.</summary>
    Task Insert(Guid batchId, IReadOnlyCollection<LetterRecord> letters, Func<LetterRecord, string> caseKeyOf);

    /// <summary>Cancels the batch's letters of these rows (a partition's share) that are not yet sent: stored pending
    /// without a message id. One conditional write; a cancelled letter is final and no later save changes it, so a
    /// send step that comes after it stores nothing. Returns how many it cancelled.</summary>
    Task<int> Cancel(Guid batchId, IReadOnlyList<(int First, int Last)> rows);

    /// <summary>Records the batch's sender and label (which its letters carry in the archive), and the time on the
    /// platform's clock from which its retention period counts. A batch says it before it first stores letters; saying
    /// it again changes nothing.</summary>
    Task Describe(Guid batchId, string senderId, string label);

    /// <summary>The sender's batches described before <paramref name="before"/>: past its retention period.</summary>
    Task<IReadOnlyList<Guid>> BatchesDescribedBefore(string senderId, DateTimeOffset before);

    /// <summary>The message ids of these batches' letters that have entries in other stores: those that went through
    /// a message grain (archived in the archive store) or to print (a print job). A bulk-lane letter's row is its own
    /// archive entry. Deleted before the letters, so a deletion cut short leaves nothing it can no longer find.</summary>
    Task<IReadOnlyList<Guid>> MessageIdsOutsideBulk(IReadOnlyList<Guid> batchIds);

    /// <summary>Deletes up to <paramref name="max"/> letters of these batches; none deleted means none is left. Once
    /// every slice is deleted, <see cref="ForgetBatches"/> drops the batches themselves.</summary>
    Task<int> DeleteLetters(IReadOnlyList<Guid> batchIds, int max);

    Task ForgetBatches(IReadOnlyList<Guid> batchIds);

    /// <summary>The message ids of every letter to <paramref name="recipientId"/> (a CPR or CVR number), found by the
    /// recipient's case keys (one per sender, <paramref name="caseKeys"/>).</summary>
    Task<IReadOnlyList<Guid>> MessageIdsTo(string recipientId, IReadOnlyCollection<string> caseKeys);

    /// <summary>The batches with letters to <paramref name="recipientId"/>, found as <see cref="MessageIdsTo"/> finds them.</summary>
    Task<IReadOnlyList<Guid>> BatchesTo(string recipientId, IReadOnlyCollection<string> caseKeys);

    /// <summary>Deletes every letter to <paramref name="recipientId"/>, found as <see cref="MessageIdsTo"/> finds them.</summary>
    Task<int> EraseRecipient(string recipientId, IReadOnlyCollection<string> caseKeys);

    /// <summary>Every sender that described a batch: an erasure looks for the recipient's case in each one's archive.</summary>
    Task<IReadOnlyList<string>> Senders();

    /// <summary>The letters delivered in the bulk lane into the recipient's case <paramref name="caseKey"/>: their rows
    /// are their archive entries (the case key of a letter is given when it is stored).</summary>
    Task<IReadOnlyList<(RecipientKind Kind, ArchivedLetter Letter)>> DeliveredInBulk(string caseKey);

    /// <summary>Marks bulk-lane letters awaiting a receipt as delivered; returns those it changed (repeats and letters
    /// not in the bulk lane are left out).</summary>
    Task<IReadOnlyList<BulkLetter>> Deliver(IReadOnlyList<Guid> messageUuids);

    /// <summary>Hands bulk-lane letters still awaiting their receipt to their message grains: the one conditional write
    /// that moves a letter's owner. Returns those it moved; a letter a receipt finished first, or one handed over
    /// before, is left as it is. From then on a bulk receipt finds no letter to finish, and no save of the bulk lane's
    /// view of the same generation moves it back (<see cref="LetterRows.TakesBack"/>).</summary>
    Task<IReadOnlySet<Guid>> HandOver(IReadOnlyList<Guid> messageUuids);

    /// <summary>The letter with this message id, if a batch made it; its receiver system key is set while it is in
    /// the bulk lane.</summary>
    Task<BulkLetter?> Find(Guid messageUuid);

    /// <summary>The letters of these message ids that batches made, in one lookup.</summary>
    Task<IReadOnlyList<BulkLetter>> FindAll(IReadOnlyList<Guid> messageUuids);

    /// <summary>The state the message grain of the letter with this message id stored on its row; null when no batch
    /// made such a letter.</summary>
    Task<StoredMessageState?> FindMessageState(Guid messageUuid);

    /// <summary>Stores a message grain's state on its letter's row with the row's <paramref name="columns"/>, in one write
    /// on condition that the row is at <paramref name="version"/> and its grain's: it moves the row to the next version.
    /// False when it is not (a stale or duplicate activation, a retry's next generation, a deleted letter), and then it
    /// changes nothing.</summary>
    Task<bool> StoreMessageState(Guid messageUuid, int version, byte[] state, LetterColumns columns);

    /// <summary>Drops the message grain's state from its letter's row, on the same condition; the row stays.</summary>
    Task<bool> ClearMessageState(Guid messageUuid, int version);

    /// <summary>Moves print-lane letters on to <paramref name="state"/> (printed, or handed to the postal service), only
    /// from an earlier print step: a repeated or late step changes nothing. Returns the letters at that step or later
    /// now; one not among them has no row in the print lane yet (its batch has not stored it).</summary>
    Task<IReadOnlySet<Guid>> Progress(IReadOnlyList<Guid> messageUuids, LetterState state, DateTimeOffset at);
}

/// <summary>The embedded default: letters in memory, gone with the process like the rest of the embedded storage.</summary>
public sealed class MemoryLetterStore(TimeProvider time) : ILetterStore
{
    private readonly ConcurrentDictionary<Guid, Dictionary<long, LetterRecord>> _batches = new();
    private readonly ConcurrentDictionary<Guid, (Guid Batch, long Key)> _byUuid = new();
    private readonly ConcurrentDictionary<string, HashSet<(Guid Batch, long Key)>> _byCase = new();
    private readonly ConcurrentDictionary<Guid, (string Sender, string Label, DateTimeOffset At)> _batchInfo = new();
    /// <summary>The message grains' states on their letters' records, changed under the batch's lock like the records.</summary>
    private readonly ConcurrentDictionary<(Guid Batch, long Key), StoredMessageState> _messageStates = new();

    public Task<Dictionary<long, LetterRecord>> Load(Guid batchId)
    {
        var letters = Letters(batchId);
        lock (letters) return Task.FromResult(letters.ToDictionary(l => l.Key, l => l.Value.Clone()));
    }

    public Task<Dictionary<long, LetterRecord>> Load(Guid batchId, IReadOnlyList<(int First, int Last)> rows)
    {
        var letters = Letters(batchId);
        lock (letters)
            return Task.FromResult(letters.Values.Where(l => rows.Any(r => r.First <= l.Row && l.Row <= r.Last)).ToDictionary(l => l.Key, l => l.Clone()));
    }

    public Task<IReadOnlyList<LetterView>> Page(Guid batchId, bool errorsOnly, int skip, int take)
    {
        var letters = Letters(batchId);
        lock (letters)
            return Task.FromResult<IReadOnlyList<LetterView>>([.. new BatchLedger(letters).InOrder(errorsOnly).Skip(skip).Take(take).Select(l => l.ToView())]);
    }

    public Task Save(Guid batchId, IReadOnlyCollection<LetterRecord> incoming, Func<LetterRecord, string> caseKeyOf)
    {
        var letters = Letters(batchId);
        lock (letters)
        {
            foreach (var letter in incoming)
            {
                if (letters.TryGetValue(letter.Key, out var stored) && !LetterRows.Overwrites(stored.State, stored.Generation, letter.State, letter.Generation)) continue;
                var copy = letter.Clone();
                if (stored is not null && LetterRows.TakesBack(stored.State, stored.Lane, stored.Generation, letter.Lane, letter.Generation))
                    (copy.Lane, copy.BulkSystem) = (stored.Lane, stored.BulkSystem);
                if (stored is not null && _messageStates.TryGetValue((batchId, letter.Key), out var grain))
                {
                    if (LetterRows.KeepsMessageState(grain.Version, stored.Generation, letter.Generation)) LetterColumns.Of(stored).ApplyTo(copy);
                    else _messageStates.TryRemove((batchId, letter.Key), out _);
                }
                letters[letter.Key] = copy;
                if (letter.MessageUuid is { } uuid) _byUuid[uuid] = (batchId, letter.Key);
                var inCase = _byCase.GetOrAdd(caseKeyOf(letter), _ => []);
                lock (inCase) inCase.Add((batchId, letter.Key));
            }
        }
        return Task.CompletedTask;
    }

    public Task Insert(Guid batchId, IReadOnlyCollection<LetterRecord> letters, Func<LetterRecord, string> caseKeyOf) => Save(batchId, letters, caseKeyOf);

    public Task<int> Cancel(Guid batchId, IReadOnlyList<(int First, int Last)> rows)
    {
        var letters = Letters(batchId);
        lock (letters)
        {
            var cancelled = 0;
            foreach (var letter in letters.Values.Where(l => BatchLedger.Unsent(l) && rows.Any(r => r.First <= l.Row && l.Row <= r.Last)))
            {
                (letter.State, letter.ErrorCode, letter.ErrorText, letter.Remedy) = (LetterState.Cancelled, BatchLedger.CancelledCode, BatchLedger.CancelledText, null);
                cancelled++;
            }
            return Task.FromResult(cancelled);
        }
    }

    public Task Describe(Guid batchId, string senderId, string label)
    {
        _batchInfo.TryAdd(batchId, (senderId, label, time.GetUtcNow()));
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<Guid>> BatchesDescribedBefore(string senderId, DateTimeOffset before) =>
        Task.FromResult<IReadOnlyList<Guid>>([.. _batchInfo.Where(b => b.Value.Sender == senderId && b.Value.At < before).Select(b => b.Key)]);

    public Task<IReadOnlyList<Guid>> MessageIdsOutsideBulk(IReadOnlyList<Guid> batchIds)
    {
        var uuids = new List<Guid>();
        foreach (var batchId in batchIds)
        {
            var letters = Letters(batchId);
            lock (letters)
                uuids.AddRange(letters.Values.Where(l => l.Lane is LetterLane.MessageGrain or LetterLane.Print && l.MessageUuid is not null).Select(l => l.MessageUuid!.Value));
        }
        return Task.FromResult<IReadOnlyList<Guid>>(uuids);
    }

    public Task<int> DeleteLetters(IReadOnlyList<Guid> batchIds, int max)
    {
        var deleted = 0;
        foreach (var batchId in batchIds)
        {
            var letters = Letters(batchId);
            lock (letters)
                foreach (var key in letters.Keys.Take(max - deleted).ToList())
                {
                    Forget(batchId, key, letters[key]);
                    letters.Remove(key);
                    deleted++;
                }
            if (deleted == max) break;
        }
        return Task.FromResult(deleted);
    }

    public Task ForgetBatches(IReadOnlyList<Guid> batchIds)
    {
        foreach (var batchId in batchIds)
        {
            _batches.TryRemove(batchId, out _);
            _batchInfo.TryRemove(batchId, out _);
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<Guid>> MessageIdsTo(string recipientId, IReadOnlyCollection<string> caseKeys) =>
        Task.FromResult<IReadOnlyList<Guid>>([.. LettersTo(recipientId, caseKeys).Where(l => l.Letter.MessageUuid is not null).Select(l => l.Letter.MessageUuid!.Value)]);

    public Task<IReadOnlyList<Guid>> BatchesTo(string recipientId, IReadOnlyCollection<string> caseKeys) =>
        Task.FromResult<IReadOnlyList<Guid>>([.. LettersTo(recipientId, caseKeys).Select(l => l.BatchId).Distinct()]);

    public Task<int> EraseRecipient(string recipientId, IReadOnlyCollection<string> caseKeys)
    {
        var deleted = 0;
        foreach (var (batchId, key, letter) in LettersTo(recipientId, caseKeys))
        {
            var letters = Letters(batchId);
            lock (letters)
                if (letters.Remove(key))
                {
                    Forget(batchId, key, letter);
                    deleted++;
                }
        }
        return Task.FromResult(deleted);
    }

    private List<(Guid BatchId, long Key, LetterRecord Letter)> LettersTo(string recipientId, IReadOnlyCollection<string> caseKeys)
    {
        var found = new List<(Guid, long, LetterRecord)>();
        foreach (var caseKey in caseKeys)
        {
            if (!_byCase.TryGetValue(caseKey, out var inCase)) continue;
            List<(Guid Batch, long Key)> keys;
            lock (inCase) keys = [.. inCase];
            foreach (var (batchId, key) in keys)
            {
                var letters = Letters(batchId);
                lock (letters)
                    if (letters.TryGetValue(key, out var letter) && letter.RecipientId == recipientId) found.Add((batchId, key, letter));
            }
        }
        return found;
    }

    public Task<IReadOnlyList<string>> Senders() => Task.FromResult<IReadOnlyList<string>>([.. _batchInfo.Values.Select(b => b.Sender).Distinct()]);

    /// <summary>Drops the indexes' entries of a letter about to be removed.</summary>
    private void Forget(Guid batchId, long key, LetterRecord letter)
    {
        _messageStates.TryRemove((batchId, key), out _);
        if (letter.MessageUuid is { } uuid) _byUuid.TryRemove(KeyValuePair.Create(uuid, (batchId, key)));
        foreach (var inCase in _byCase.Values)
            lock (inCase) inCase.Remove((batchId, key));
    }

    public Task<IReadOnlyList<(RecipientKind Kind, ArchivedLetter Letter)>> DeliveredInBulk(string caseKey)
    {
        var found = new List<(RecipientKind, ArchivedLetter)>();
        if (!_byCase.TryGetValue(caseKey, out var inCase)) return Task.FromResult<IReadOnlyList<(RecipientKind, ArchivedLetter)>>(found);
        List<(Guid Batch, long Key)> keys;
        lock (inCase) keys = [.. inCase];
        foreach (var (batchId, key) in keys)
        {
            var letters = Letters(batchId);
            lock (letters)
                if (letters.GetValueOrDefault(key) is { State: LetterState.Delivered or LetterState.SentAsNemSms or LetterState.HandedToPostalService, Lane: not LetterLane.MessageGrain, MessageUuid: { } uuid } l)
                    found.Add((l.Kind, Archiving.BulkDelivered(uuid, batchId, l.Row, l.Copy, (_batchInfo.TryGetValue(batchId, out var info) ? info.Label : ""), l.Lane, l.State,
                        l.BulkSystem, l.PushedAt, l.DeliveredAt ?? time.GetUtcNow())));
        }
        return Task.FromResult<IReadOnlyList<(RecipientKind, ArchivedLetter)>>(found);
    }

    public Task<IReadOnlyList<BulkLetter>> Deliver(IReadOnlyList<Guid> messageUuids) =>
        Task.FromResult<IReadOnlyList<BulkLetter>>(ChangeEach(messageUuids, (batch, letter) =>
        {
            if (letter.BulkSystem is null || letter.State != LetterState.Queued) return (BulkLetter?)null;
            letter.State = LetterState.Delivered;
            letter.DeliveredAt = time.GetUtcNow();
            return new BulkLetter(batch, letter.Row, letter.Copy, letter.MessageUuid!.Value, letter.BulkSystem, Delivered: true, letter.Lane, letter.Partition);
        }));

    public Task<IReadOnlySet<Guid>> HandOver(IReadOnlyList<Guid> messageUuids) =>
        Task.FromResult<IReadOnlySet<Guid>>(ChangeEach(messageUuids, (_, letter) =>
        {
            if (letter is not { Lane: LetterLane.ReceiverSystem, BulkSystem: not null, State: LetterState.Queued }) return (Guid?)null;
            (letter.Lane, letter.BulkSystem) = (LetterLane.MessageGrain, null);
            return letter.MessageUuid;
        }).ToHashSet());

    /// <summary>A conditional write per named letter, as the PostgreSQL store's <c>UPDATE … WHERE … RETURNING</c>: under
    /// its batch's lock, <paramref name="change"/> changes the letter or leaves it, and answers what the caller collects
    /// of it, or null.</summary>
    private List<T> ChangeEach<T>(IReadOnlyList<Guid> messageUuids, Func<Guid, LetterRecord, T?> change) where T : struct
    {
        var changed = new List<T>();
        foreach (var uuid in messageUuids)
        {
            if (!_byUuid.TryGetValue(uuid, out var at)) continue;
            var letters = Letters(at.Batch);
            lock (letters)
            {
                var letter = letters[at.Key];
                if (letter.MessageUuid == uuid && change(at.Batch, letter) is { } result) changed.Add(result);
            }
        }
        return changed;
    }

    public async Task<IReadOnlyList<BulkLetter>> FindAll(IReadOnlyList<Guid> messageUuids)
    {
        var found = new List<BulkLetter>();
        foreach (var uuid in messageUuids.Distinct())
            if (await Find(uuid) is { } letter) found.Add(letter);
        return found;
    }

    public Task<BulkLetter?> Find(Guid messageUuid)
    {
        if (!_byUuid.TryGetValue(messageUuid, out var at)) return Task.FromResult<BulkLetter?>(null);
        var letters = Letters(at.Batch);
        lock (letters)
        {
            var letter = letters[at.Key];
            return Task.FromResult<BulkLetter?>(letter.MessageUuid == messageUuid
                ? new BulkLetter(at.Batch, letter.Row, letter.Copy, messageUuid, letter.BulkSystem, letter.State == LetterState.Delivered, letter.Lane, letter.Partition) : null);
        }
    }

    public Task<StoredMessageState?> FindMessageState(Guid messageUuid)
    {
        if (!_byUuid.TryGetValue(messageUuid, out var at)) return Task.FromResult<StoredMessageState?>(null);
        var letters = Letters(at.Batch);
        lock (letters)
            return Task.FromResult(letters.TryGetValue(at.Key, out var letter) && letter.MessageUuid == messageUuid
                ? _messageStates.GetValueOrDefault(at, new(null, 0)) : null);
    }

    public Task<bool> StoreMessageState(Guid messageUuid, int version, byte[] state, LetterColumns columns) =>
        Task.FromResult(ChangeMessageState(messageUuid, version, state, columns.ApplyTo));

    public Task<bool> ClearMessageState(Guid messageUuid, int version) => Task.FromResult(ChangeMessageState(messageUuid, version, null, _ => { }));

    /// <summary>The PostgreSQL store's conditional <c>UPDATE … WHERE uuid AND version AND lane</c>, under the batch's lock.</summary>
    private bool ChangeMessageState(Guid messageUuid, int version, byte[]? state, Action<LetterRecord> change) =>
        ChangeEach([messageUuid], (batch, letter) =>
        {
            var stored = _messageStates.GetValueOrDefault((batch, letter.Key), new(null, 0));
            if (stored.Version != version || letter.Lane != LetterLane.MessageGrain) return (bool?)null;
            change(letter);
            _messageStates[(batch, letter.Key)] = new(state, version + 1);
            return true;
        }).Count == 1;

    public Task<IReadOnlySet<Guid>> Progress(IReadOnlyList<Guid> messageUuids, LetterState state, DateTimeOffset at) =>
        Task.FromResult<IReadOnlySet<Guid>>(ChangeEach(messageUuids, (_, letter) =>
        {
            if (letter.Lane != LetterLane.Print) return (Guid?)null;
            if (LetterRows.PrintStepsBefore(state).Contains(letter.State)) (letter.State, letter.DeliveredAt) = (state, at);
            return LetterRows.PrintStepsBefore(state).Contains(letter.State) ? null : letter.MessageUuid;
        }).ToHashSet());

    private Dictionary<long, LetterRecord> Letters(Guid batchId) => _batches.GetOrAdd(batchId, _ => []);
}

/// <summary>Letters in PostgreSQL (table <c>letter</c>, deploy/sql). A batch's letters go in with binary COPY and one
/// upsert per save; bulk-lane receipts from all callers are coalesced into one UPDATE per round trip.</summary>
public sealed class PostgresLetterStore : ILetterStore
{
    private readonly NpgsqlDataSource _db;
    private readonly GroupCommit<Guid, BulkLetter> _deliveries;
    private readonly TimeProvider _time;

    public PostgresLetterStore(NpgsqlDataSource db, TimeProvider time)
    {
        _db = db;
        _time = time;
        _deliveries = new GroupCommit<Guid, BulkLetter>(DeliverNow, l => l.MessageUuid);
    }

    /// <summary><see cref="LetterRows.TakesBack"/> in SQL, of the stored row (letter) and the incoming one (excluded).</summary>
    private static readonly string TakesBack = $"letter.lane = {(short)LetterLane.MessageGrain} AND letter.state <> {(short)LetterState.Pending} " +
        $"AND NOT letter.final AND excluded.lane <> {(short)LetterLane.MessageGrain} AND excluded.generation <= letter.generation";

    /// <summary><see cref="LetterRows.KeepsMessageState"/> in SQL, of the stored row (letter) and the incoming one (excluded).</summary>
    private const string KeepsMessageState = "letter.version > 0 AND excluded.generation <= letter.generation";

    /// <summary>A state column that a save takes from the incoming row unless the row keeps its message grain's state.</summary>
    private static string Kept(string column) => $"{column} = CASE WHEN {KeepsMessageState} THEN letter.{column} ELSE excluded.{column} END";

    private const string Columns = "batch_id, row, copy, generation, uuid, state, final, channel, error_code, error_text, remedy, rerouted, kind, recipient_id, bulk_system, pushed_at, delivered_at, archived, case_key, lane, part";

    public async Task<Dictionary<long, LetterRecord>> Load(Guid batchId)
    {
        await using var command = _db.CreateCommand($"SELECT {Columns} FROM letter WHERE batch_id = $1");
        command.Parameters.AddWithValue(batchId);
        return await ReadRecords(command);
    }

    public async Task<Dictionary<long, LetterRecord>> Load(Guid batchId, IReadOnlyList<(int First, int Last)> rows)
    {
        await using var command = _db.CreateCommand($"""
            SELECT {Columns} FROM letter
            WHERE batch_id = $1 AND EXISTS (SELECT 1 FROM unnest($2::int[], $3::int[]) AS r(first_row, last_row) WHERE row BETWEEN r.first_row AND r.last_row)
            """);
        command.Parameters.AddWithValue(batchId);
        command.Parameters.AddWithValue(rows.Select(r => r.First).ToArray());
        command.Parameters.AddWithValue(rows.Select(r => r.Last).ToArray());
        return await ReadRecords(command);
    }

    public async Task<IReadOnlyList<LetterView>> Page(Guid batchId, bool errorsOnly, int skip, int take)
    {
        await using var command = _db.CreateCommand("""
            SELECT row, copy, uuid, state, channel, error_code, error_text, remedy FROM letter
            WHERE batch_id = $1 AND (NOT $2 OR state = ANY($3))
            ORDER BY row, copy OFFSET $4 LIMIT $5
            """);
        command.Parameters.AddWithValue(batchId);
        command.Parameters.AddWithValue(errorsOnly);
        command.Parameters.AddWithValue(Enum.GetValues<LetterState>().Where(BatchLedger.IsError).Select(s => (short)s).ToArray());
        command.Parameters.AddWithValue(skip);
        command.Parameters.AddWithValue(take);
        var page = new List<LetterView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            page.Add(new LetterView(reader.GetInt32(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetGuid(2), (LetterState)reader.GetInt16(3),
                reader.IsDBNull(4) ? null : (DeliveryChannel)reader.GetInt16(4), reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7)));
        return page;
    }

    private static async Task<Dictionary<long, LetterRecord>> ReadRecords(NpgsqlCommand command)
    {
        var letters = new Dictionary<long, LetterRecord>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var letter = new LetterRecord
            {
                Row = reader.GetInt32(1),
                Copy = reader.GetInt32(2),
                Generation = reader.GetInt32(3),
                MessageUuid = reader.IsDBNull(4) ? null : reader.GetGuid(4),
                State = (LetterState)reader.GetInt16(5),
                Channel = reader.IsDBNull(7) ? null : (DeliveryChannel)reader.GetInt16(7),
                ErrorCode = reader.IsDBNull(8) ? null : reader.GetString(8),
                ErrorText = reader.IsDBNull(9) ? null : reader.GetString(9),
                Remedy = reader.IsDBNull(10) ? null : reader.GetString(10),
                Rerouted = reader.GetBoolean(11),
                Kind = (RecipientKind)reader.GetInt16(12),
                RecipientId = reader.GetString(13),
                BulkSystem = reader.IsDBNull(14) ? null : reader.GetString(14),
                PushedAt = reader.IsDBNull(15) ? null : reader.GetFieldValue<DateTimeOffset>(15),
                DeliveredAt = reader.IsDBNull(16) ? null : reader.GetFieldValue<DateTimeOffset>(16),
                Archived = reader.GetBoolean(17),
                Lane = (LetterLane)reader.GetInt16(19),
                Partition = reader.GetInt16(20),
            };
            letters[letter.Key] = letter;
        }
        return letters;
    }

    public async Task Save(Guid batchId, IReadOnlyCollection<LetterRecord> letters, Func<LetterRecord, string> caseKeyOf)
    {
        if (letters.Count == 0) return;
        await using var connection = await _db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE letter_in (LIKE letter INCLUDING DEFAULTS) ON COMMIT DROP", connection, transaction))
            await create.ExecuteNonQueryAsync();
        await Copy(connection, "letter_in", batchId, letters, caseKeyOf);
        await using (var upsert = new NpgsqlCommand($"""
            INSERT INTO letter ({Columns}) SELECT {Columns} FROM letter_in
            ON CONFLICT (batch_id, row, copy) DO UPDATE SET
                generation = excluded.generation, uuid = excluded.uuid, {Kept("state")}, {Kept("final")},
                channel = excluded.channel, {Kept("error_code")}, {Kept("error_text")}, {Kept("remedy")}, {Kept("rerouted")},
                resend = CASE WHEN {KeepsMessageState} THEN letter.resend END, version = CASE WHEN {KeepsMessageState} THEN letter.version ELSE 0 END,
                kind = excluded.kind,
                recipient_id = excluded.recipient_id,
                bulk_system = CASE WHEN {TakesBack} THEN letter.bulk_system ELSE excluded.bulk_system END,
                pushed_at = excluded.pushed_at, delivered_at = excluded.delivered_at, archived = excluded.archived,
                case_key = excluded.case_key, lane = CASE WHEN {TakesBack} THEN letter.lane ELSE excluded.lane END,
                part = excluded.part, changed_at = now()
            WHERE letter.state <> {(short)LetterState.Cancelled} AND (
                NOT letter.final AND NOT (letter.state = {(short)LetterState.Printed} AND excluded.state = {(short)LetterState.SentToPrint})
                OR excluded.final OR excluded.generation > letter.generation)
            """, connection, transaction))
            await upsert.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
    }

    public async Task Insert(Guid batchId, IReadOnlyCollection<LetterRecord> letters, Func<LetterRecord, string> caseKeyOf)
    {
        if (letters.Count == 0) return;
        try
        {
            await using var connection = await _db.OpenConnectionAsync();
            await Copy(connection, "letter", batchId, letters, caseKeyOf);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // COPY is one statement: it stored none of them. Some were there already; the upsert keeps what is final.
            await Save(batchId, letters, caseKeyOf);
        }
    }

    public async Task<int> Cancel(Guid batchId, IReadOnlyList<(int First, int Last)> rows)
    {
        await using var command = _db.CreateCommand("""
            UPDATE letter SET state = $4, final = true, error_code = $5, error_text = $6, remedy = NULL, changed_at = now()
            WHERE batch_id = $1 AND state = $7 AND uuid IS NULL
              AND EXISTS (SELECT 1 FROM unnest($2::int[], $3::int[]) AS r(first_row, last_row) WHERE row BETWEEN r.first_row AND r.last_row)
            """);
        command.Parameters.AddWithValue(batchId);
        command.Parameters.AddWithValue(rows.Select(r => r.First).ToArray());
        command.Parameters.AddWithValue(rows.Select(r => r.Last).ToArray());
        command.Parameters.AddWithValue((short)LetterState.Cancelled);
        command.Parameters.AddWithValue(BatchLedger.CancelledCode);
        command.Parameters.AddWithValue(BatchLedger.CancelledText);
        command.Parameters.AddWithValue((short)LetterState.Pending);
        return await command.ExecuteNonQueryAsync();
    }

    public async Task Describe(Guid batchId, string senderId, string label)
    {
        await using var command = _db.CreateCommand("""
            INSERT INTO letter_batch (batch_id, label, sender_id, described_at) VALUES ($1, $2, $3, $4) ON CONFLICT (batch_id) DO NOTHING
            """);
        command.Parameters.AddWithValue(batchId);
        command.Parameters.AddWithValue(label);
        command.Parameters.AddWithValue(senderId);
        command.Parameters.AddWithValue(_time.GetUtcNow());
        await command.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<Guid>> BatchesDescribedBefore(string senderId, DateTimeOffset before)
    {
        await using var command = _db.CreateCommand("SELECT batch_id FROM letter_batch WHERE sender_id = $1 AND described_at < $2");
        command.Parameters.AddWithValue(senderId);
        command.Parameters.AddWithValue(before);
        return await ReadUuids(command);
    }

    public async Task<IReadOnlyList<Guid>> MessageIdsOutsideBulk(IReadOnlyList<Guid> batchIds)
    {
        await using var command = _db.CreateCommand("SELECT uuid FROM letter WHERE batch_id = ANY($1) AND lane = ANY($2) AND uuid IS NOT NULL");
        command.Parameters.AddWithValue(batchIds.ToArray());
        command.Parameters.AddWithValue(new[] { (short)LetterLane.MessageGrain, (short)LetterLane.Print });
        return await ReadUuids(command);
    }

    public async Task<int> DeleteLetters(IReadOnlyList<Guid> batchIds, int max)
    {
        // A slice at a time by the primary key (batch_id leads it): one statement per slice keeps each transaction,
        // its locks and its WAL bounded, however large the batch.
        await using var command = _db.CreateCommand("""
            DELETE FROM letter WHERE ctid = ANY(ARRAY(SELECT ctid FROM letter WHERE batch_id = ANY($1) LIMIT $2))
            """);
        command.Parameters.AddWithValue(batchIds.ToArray());
        command.Parameters.AddWithValue(max);
        return await command.ExecuteNonQueryAsync();
    }

    public async Task ForgetBatches(IReadOnlyList<Guid> batchIds)
    {
        await using var command = _db.CreateCommand("DELETE FROM letter_batch WHERE batch_id = ANY($1)");
        command.Parameters.AddWithValue(batchIds.ToArray());
        await command.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<Guid>> MessageIdsTo(string recipientId, IReadOnlyCollection<string> caseKeys)
    {
        await using var command = _db.CreateCommand("SELECT uuid FROM letter WHERE case_key = ANY($1) AND recipient_id = $2 AND uuid IS NOT NULL");
        command.Parameters.AddWithValue(caseKeys.ToArray());
        command.Parameters.AddWithValue(recipientId);
        return await ReadUuids(command);
    }

    public async Task<IReadOnlyList<Guid>> BatchesTo(string recipientId, IReadOnlyCollection<string> caseKeys)
    {
        await using var command = _db.CreateCommand("SELECT DISTINCT batch_id FROM letter WHERE case_key = ANY($1) AND recipient_id = $2");
        command.Parameters.AddWithValue(caseKeys.ToArray());
        command.Parameters.AddWithValue(recipientId);
        return await ReadUuids(command);
    }

    public async Task<int> EraseRecipient(string recipientId, IReadOnlyCollection<string> caseKeys)
    {
        await using var command = _db.CreateCommand("DELETE FROM letter WHERE case_key = ANY($1) AND recipient_id = $2");
        command.Parameters.AddWithValue(caseKeys.ToArray());
        command.Parameters.AddWithValue(recipientId);
        return await command.ExecuteNonQueryAsync();
    }

    internal static Task<IReadOnlyList<Guid>> ReadUuids(NpgsqlCommand command) => ReadFirstColumn<Guid>(command);

    /// <summary>The first column of every row the command reads.</summary>
    internal static async Task<IReadOnlyList<T>> ReadFirstColumn<T>(NpgsqlCommand command)
    {
        var values = new List<T>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) values.Add(reader.GetFieldValue<T>(0));
        return values;
    }

    public async Task<IReadOnlyList<string>> Senders()
    {
        await using var command = _db.CreateCommand("SELECT DISTINCT sender_id FROM letter_batch WHERE sender_id IS NOT NULL");
        return await ReadFirstColumn<string>(command);
    }

    public async Task<IReadOnlyList<(RecipientKind Kind, ArchivedLetter Letter)>> DeliveredInBulk(string caseKey)
    {
        await using var command = _db.CreateCommand("""
            SELECT l.kind, l.uuid, l.batch_id, l.row, l.copy, coalesce(b.label, ''), l.bulk_system, l.pushed_at, l.delivered_at, l.lane, l.state
            FROM letter l LEFT JOIN letter_batch b ON b.batch_id = l.batch_id
            WHERE l.case_key = $1 AND l.lane <> $2 AND l.state = ANY($3)
            """);
        command.Parameters.AddWithValue(caseKey);
        command.Parameters.AddWithValue((short)LetterLane.MessageGrain);
        command.Parameters.AddWithValue(new[] { (short)LetterState.Delivered, (short)LetterState.SentAsNemSms, (short)LetterState.HandedToPostalService });
        var found = new List<(RecipientKind, ArchivedLetter)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var deliveredAt = reader.IsDBNull(8) ? _time.GetUtcNow() : reader.GetFieldValue<DateTimeOffset>(8);
            found.Add(((RecipientKind)reader.GetInt16(0), Archiving.BulkDelivered(reader.GetGuid(1), reader.GetGuid(2), reader.GetInt32(3), reader.GetInt32(4),
                reader.GetString(5), (LetterLane)reader.GetInt16(9), (LetterState)reader.GetInt16(10), reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7), deliveredAt)));
        }
        return found;
    }

    /// <summary>Binary COPY of the letters into <paramref name="table"/> (the letter table, or a temporary one like it).</summary>
    private static async Task Copy(NpgsqlConnection connection, string table, Guid batchId, IReadOnlyCollection<LetterRecord> letters, Func<LetterRecord, string> caseKeyOf)
    {
        await using var copy = await connection.BeginBinaryImportAsync($"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)");
        foreach (var l in letters)
        {
            await copy.StartRowAsync();
            await copy.WriteAsync(batchId, NpgsqlDbType.Uuid);
            await copy.WriteAsync(l.Row, NpgsqlDbType.Integer);
            await copy.WriteAsync(l.Copy, NpgsqlDbType.Integer);
            await copy.WriteAsync(l.Generation, NpgsqlDbType.Integer);
            await WriteNullable(copy, l.MessageUuid, NpgsqlDbType.Uuid);
            await copy.WriteAsync((short)l.State, NpgsqlDbType.Smallint);
            await copy.WriteAsync(l.State.IsFinal(), NpgsqlDbType.Boolean);
            await WriteNullable(copy, l.Channel is { } c ? (short)c : (short?)null, NpgsqlDbType.Smallint);
            await WriteNullable(copy, l.ErrorCode, NpgsqlDbType.Text);
            await WriteNullable(copy, l.ErrorText, NpgsqlDbType.Text);
            await WriteNullable(copy, l.Remedy, NpgsqlDbType.Text);
            await copy.WriteAsync(l.Rerouted, NpgsqlDbType.Boolean);
            await copy.WriteAsync((short)l.Kind, NpgsqlDbType.Smallint);
            await copy.WriteAsync(l.RecipientId, NpgsqlDbType.Text);
            await WriteNullable(copy, l.BulkSystem, NpgsqlDbType.Text);
            await WriteNullable(copy, l.PushedAt, NpgsqlDbType.TimestampTz);
            await WriteNullable(copy, l.DeliveredAt, NpgsqlDbType.TimestampTz);
            await copy.WriteAsync(l.Archived, NpgsqlDbType.Boolean);
            await copy.WriteAsync(caseKeyOf(l), NpgsqlDbType.Text);
            await copy.WriteAsync((short)l.Lane, NpgsqlDbType.Smallint);
            await copy.WriteAsync((short)l.Partition, NpgsqlDbType.Smallint);
        }
        await copy.CompleteAsync();
    }

    public Task<IReadOnlyList<BulkLetter>> Deliver(IReadOnlyList<Guid> messageUuids) => _deliveries.Submit(messageUuids);

    private async Task<IReadOnlyList<BulkLetter>> DeliverNow(IReadOnlyList<Guid> messageUuids)
    {
        await using var command = _db.CreateCommand("""
            UPDATE letter SET state = $2, final = true, delivered_at = $4, changed_at = now()
            FROM unnest($1::uuid[]) AS delivered(uuid)
            WHERE letter.uuid = delivered.uuid AND letter.bulk_system IS NOT NULL AND letter.state = $3
            RETURNING letter.batch_id, letter.row, letter.copy, letter.uuid, letter.bulk_system, letter.state, letter.lane, letter.part
            """);
        command.Parameters.AddWithValue(messageUuids.Distinct().ToArray());
        command.Parameters.AddWithValue((short)LetterState.Delivered);
        command.Parameters.AddWithValue((short)LetterState.Queued);
        command.Parameters.AddWithValue(_time.GetUtcNow());
        return await ReadLetters(command);
    }

    public async Task<IReadOnlySet<Guid>> HandOver(IReadOnlyList<Guid> messageUuids)
    {
        if (messageUuids.Count == 0) return new HashSet<Guid>();
        await using var command = _db.CreateCommand("""
            UPDATE letter SET lane = $2, bulk_system = NULL, changed_at = now()
            WHERE uuid = ANY($1) AND lane = $3 AND bulk_system IS NOT NULL AND state = $4
            RETURNING uuid
            """);
        command.Parameters.AddWithValue(messageUuids.Distinct().ToArray());
        command.Parameters.AddWithValue((short)LetterLane.MessageGrain);
        command.Parameters.AddWithValue((short)LetterLane.ReceiverSystem);
        command.Parameters.AddWithValue((short)LetterState.Queued);
        return (await ReadUuids(command)).ToHashSet();
    }

    public async Task<BulkLetter?> Find(Guid messageUuid)
    {
        await using var command = _db.CreateCommand("SELECT batch_id, row, copy, uuid, bulk_system, state, lane, part FROM letter WHERE uuid = $1");
        command.Parameters.AddWithValue(messageUuid);
        var found = await ReadLetters(command);
        return found.Count > 0 ? found[0] : null;
    }

    public async Task<IReadOnlyList<BulkLetter>> FindAll(IReadOnlyList<Guid> messageUuids)
    {
        await using var command = _db.CreateCommand("SELECT batch_id, row, copy, uuid, bulk_system, state, lane, part FROM letter WHERE uuid = ANY($1)");
        command.Parameters.AddWithValue(messageUuids.Distinct().ToArray());
        return await ReadLetters(command);
    }

    public async Task<StoredMessageState?> FindMessageState(Guid messageUuid)
    {
        await using var command = _db.CreateCommand("SELECT resend, version FROM letter WHERE uuid = $1");
        command.Parameters.AddWithValue(messageUuid);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? new StoredMessageState(reader.IsDBNull(0) ? null : (byte[])reader[0], reader.GetInt32(1)) : null;
    }

    public async Task<bool> StoreMessageState(Guid messageUuid, int version, byte[] state, LetterColumns columns)
    {
        await using var command = MessageStateUpdate(messageUuid, version, state,
            "state = $5, final = $6, error_code = $7, error_text = $8, remedy = $9, rerouted = $10, changed_at = now()");
        command.Parameters.AddWithValue((short)columns.State);
        command.Parameters.AddWithValue(columns.Final);
        command.Parameters.Add(Nullable(NpgsqlDbType.Text, columns.ErrorCode));
        command.Parameters.Add(Nullable(NpgsqlDbType.Text, columns.ErrorText));
        command.Parameters.Add(Nullable(NpgsqlDbType.Text, columns.Remedy));
        command.Parameters.AddWithValue(columns.Rerouted);
        return await command.ExecuteNonQueryAsync() == 1;
    }

    public async Task<bool> ClearMessageState(Guid messageUuid, int version)
    {
        await using var command = MessageStateUpdate(messageUuid, version, null, "changed_at = now()");
        return await command.ExecuteNonQueryAsync() == 1;
    }

    /// <summary>The conditional write of a message grain's state on its letter's row (parameters $1 to $4), with
    /// <paramref name="columns"/> set in the same statement.</summary>
    private NpgsqlCommand MessageStateUpdate(Guid messageUuid, int version, byte[]? state, string columns)
    {
        var command = _db.CreateCommand($"""
            UPDATE letter SET resend = $3, version = version + 1, {columns}
            WHERE uuid = $1 AND version = $2 AND lane = $4
            """);
        command.Parameters.AddWithValue(messageUuid);
        command.Parameters.AddWithValue(version);
        command.Parameters.Add(Nullable(NpgsqlDbType.Bytea, state));
        command.Parameters.AddWithValue((short)LetterLane.MessageGrain);
        return command;
    }

    private static NpgsqlParameter Nullable(NpgsqlDbType type, object? value) => new() { NpgsqlDbType = type, Value = value ?? DBNull.Value };

    private static async Task<IReadOnlyList<BulkLetter>> ReadLetters(NpgsqlCommand command)
    {
        var letters = new List<BulkLetter>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            letters.Add(new BulkLetter(reader.GetGuid(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetGuid(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                (LetterState)reader.GetInt16(5) == LetterState.Delivered, (LetterLane)reader.GetInt16(6), reader.GetInt16(7)));
        return letters;
    }

    public async Task<IReadOnlySet<Guid>> Progress(IReadOnlyList<Guid> messageUuids, LetterState state, DateTimeOffset at)
    {
        // The second part reads the rows as they were before the update: those already at the step or later.
        await using var command = _db.CreateCommand("""
            WITH moved AS (
                UPDATE letter SET state = $2, final = $3, delivered_at = $4, changed_at = now()
                WHERE uuid = ANY($1) AND lane = $5 AND state = ANY($6)
                RETURNING uuid)
            SELECT uuid FROM moved
            UNION ALL
            SELECT uuid FROM letter WHERE uuid = ANY($1) AND lane = $5 AND NOT state = ANY($6) AND state NOT IN ($7, $8)
            """);
        command.Parameters.AddWithValue(messageUuids.ToArray());
        command.Parameters.AddWithValue((short)state);
        command.Parameters.AddWithValue(state.IsFinal());
        command.Parameters.AddWithValue(at);
        command.Parameters.AddWithValue((short)LetterLane.Print);
        command.Parameters.AddWithValue(LetterRows.PrintStepsBefore(state).Select(s => (short)s).ToArray());
        command.Parameters.AddWithValue((short)LetterState.Pending);
        command.Parameters.AddWithValue((short)LetterState.Queued);
        var there = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) there.Add(reader.GetGuid(0));
        return there;
    }

    private static Task WriteNullable<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type) =>
        value is null ? copy.WriteNullAsync() : copy.WriteAsync(value, type);
}

/// <summary>The store's one rule, shared by both implementations.</summary>
public static class LetterRows
{
    /// <summary>Whether a letter's new state may replace the stored one: never a cancelled one (a send step that comes
    /// after the cancel changes nothing); not when the stored one is final, or printed, and the new one is an older,
    /// unfinished view of the same generation (the print provider moves print-lane rows while their batch may still
    /// store its own view).</summary>
    public static bool Overwrites(LetterState stored, int storedGeneration, LetterState incoming, int incomingGeneration) =>
        stored != LetterState.Cancelled && (!stored.IsFinal() && !(stored == LetterState.Printed && incoming == LetterState.SentToPrint) || incoming.IsFinal() || incomingGeneration > storedGeneration);

    /// <summary>Whether a new view would take a letter back from its message grain: while the grain has it (its lane, sent
    /// and not final), a view of the same generation in another lane comes from an activation that had not heard of the
    /// hand-over (a partition's duplicate activation after a silo died). Its state is taken as <see cref="Overwrites"/>
    /// says (it may be the grain's final one, heard there), but the letter stays in the grain's lane, out of reach of
    /// bulk receipts. Only a retry's new generation leaves the grain; one its batch returned before it was sent had none.</summary>
    public static bool TakesBack(LetterState stored, LetterLane storedLane, int storedGeneration, LetterLane incomingLane, int incomingGeneration) =>
        storedLane == LetterLane.MessageGrain && stored != LetterState.Pending && !stored.IsFinal() && incomingLane != LetterLane.MessageGrain
        && incomingGeneration <= storedGeneration;

    /// <summary>Whether a save keeps the state a letter's message grain stored on its row (its state columns, the grain's
    /// state and version): once the grain has written it, the row is the grain's to change, and a batch's view of the
    /// same generation is older or the same. A retry's next generation starts without it.</summary>
    public static bool KeepsMessageState(int storedVersion, int storedGeneration, int incomingGeneration) =>
        storedVersion > 0 && incomingGeneration <= storedGeneration;

    /// <summary>The print steps a letter may be in for the print provider to move it on to <paramref name="next"/>.</summary>
    public static IReadOnlyList<LetterState> PrintStepsBefore(LetterState next) => next switch
    {
        LetterState.Printed => [LetterState.SentToPrint],
        LetterState.HandedToPostalService => [LetterState.SentToPrint, LetterState.Printed],
        _ => throw new ArgumentOutOfRangeException(nameof(next), next, "not a print step"),
    };
}
