using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace DigitalPost.Grains;

[GenerateSerializer, Immutable, Alias("dp.ChunkInfo")]
public sealed record ChunkInfo(
    [property: Id(0)] int Rows,
    [property: Id(1)] int FirstRow,
    [property: Id(2)] int LastRow,
    [property: Id(3)] IReadOnlyList<RowIssue> Issues);

[GenerateSerializer, Immutable, Alias("dp.ArchiveItem")]
public sealed record ArchiveItem([property: Id(0)] RecipientKind Kind, [property: Id(1)] string RecipientId, [property: Id(2)] ArchivedLetter Letter);

[GenerateSerializer, Alias("dp.MergeBatchState")]
public sealed class MergeBatchState
{
    [Id(0)] public BatchHeader? Header { get; set; }
    [Id(1)] public bool Sealed { get; set; }
    [Id(2)] public DateTimeOffset AcceptedAt { get; set; }
    [Id(3)] public Dictionary<int, ChunkInfo> Chunks { get; set; } = [];
    [Id(4)] public int ChunkCount { get; set; }
    /// <summary>Chunks 0..DispatchedChunks-1 have all their letters made.</summary>
    [Id(5)] public int DispatchedChunks { get; set; }
    [Id(6)] public Dictionary<long, LetterRecord> Letters { get; set; } = [];
    /// <summary>Final letters waiting to be archived in their recipients' cases.</summary>
    [Id(7)] public List<ArchiveItem> ArchiveQueue { get; set; } = [];
    [Id(8)] public DateTimeOffset? CompletedAt { get; set; }
}

/// <summary>A merge batch. It takes its rows in chunks, then (at its send time) makes each row's letters: the recipient
/// check decides the channel, the letter is rendered and handed to its own message grain. The letters' states come
/// back on the batch's stream; the batch keeps the counts, archives delivered letters and passes every change on to
/// the sender's webhook outbox. Reentrant: status queries and stream events are served while it dispatches.</summary>
[Reentrant, ImplicitStreamSubscription(LetterStream.Namespace)]
public sealed class MergeBatchGrain : Grain, IMergeBatchGrain, IStreamSubscriptionObserver
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan DispatchRetry = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LongestReconcileInterval = TimeSpan.FromHours(1);
    private readonly IPersistentState<MergeBatchState> _state;
    private readonly TimeProvider _time;
    private readonly WakeUps _wakeUps;
    private readonly LetterRendering _rendering;
    private readonly MassSendingOptions _options;
    private readonly CaseKeys _caseKeys;
    private readonly ILogger<MergeBatchGrain> _log;
    private readonly CoalescingWriter _writer;
    private readonly List<LetterStatusChanged> _toWebhook = [];
    private BatchLedger _ledger = new([]);
    private Task? _dispatching;
    private Task? _flushing;
    private bool _dirty;
    private long _nextWriteAt;
    private DateTimeOffset _safetyNetUntil;
    private DateTimeOffset? _retryDispatchAt;
    private bool _reconcile;
    private DateTimeOffset _lastHeard;
    private TimeSpan _reconcileAfter;

    public MergeBatchGrain([PersistentState("batch", StorageNames.Platform)] IPersistentState<MergeBatchState> state,
        TimeProvider time, WakeUps wakeUps, LetterRendering rendering, IOptions<MassSendingOptions> options, ILogger<MergeBatchGrain> log)
    {
        (_state, _time, _wakeUps, _rendering, _options, _log) = (state, time, wakeUps, rendering, options.Value, log);
        _caseKeys = new CaseKeys(_options.ArchiveKey);
        _writer = new CoalescingWriter(() =>
        {
            _dirty = false;
            return _state.WriteStateAsync();
        });
    }

    private MergeBatchState S => _state.State;
    private Guid BatchId => this.GetPrimaryKey();
    private BatchHeader Header => S.Header!;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _ledger = new BatchLedger(S.Letters);
        this.RegisterGrainTimer(Flush, new GrainTimerCreationOptions(_options.FlushInterval, _options.FlushInterval));
        (_lastHeard, _reconcileAfter) = (_time.GetUtcNow(), _options.ReconcileAfter);
        if (S.Sealed && S.CompletedAt is null)
        {
            // The activation before this one may have died: what it had heard but not stored is asked again.
            _reconcile = true;
            Kick();
        }
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await Flush();

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<LetterStatusChanged>().ResumeAsync((change, _) =>
        {
            Heard(change);
            return Task.CompletedTask;
        });

    public async Task<BatchBeginOutcome> Begin(BatchHeader header)
    {
        if (S.Header is { } existing)
        {
            if (existing.Fingerprint != header.Fingerprint || existing.SenderId != header.SenderId) return BatchBeginOutcome.Conflict;
            if (S.Sealed) return BatchBeginOutcome.AlreadyAccepted;
        }
        S.Header = header;
        await _writer.SaveAsync();
        return BatchBeginOutcome.Receiving;
    }

    public async Task AddRows(int chunk, IReadOnlyList<BatchRow> rows, IReadOnlyList<RowIssue> issues)
    {
        if (S.Header is null) throw new InvalidOperationException("The batch has not begun.");
        if (S.Sealed) return;
        await GrainFactory.GetGrain<IBatchChunkGrain>(BatchChunkGrain.KeyOf(BatchId, chunk)).Store(rows);
        var first = rows.Count > 0 ? rows[0].Row : 0;
        S.Chunks[chunk] = new ChunkInfo(rows.Count, first, rows.Count > 0 ? rows[^1].Row : 0, issues);
        await _writer.SaveAsync();
    }

    public async Task<BatchStatusView> Seal(int chunks)
    {
        if (S.Header is null) throw new InvalidOperationException("The batch has not begun.");
        if (!S.Sealed)
        {
            S.ChunkCount = chunks;
            S.Sealed = true;
            S.AcceptedAt = _time.GetUtcNow();
            await _writer.SaveAsync();
            _log.LogInformation("Batch {BatchId} of sender {SenderId} accepted: {Rows} rows, {Rejected} rejected",
                BatchId, Header.SenderId, AcceptedRows, RejectedRows);
            if (Header.Options.SendAt is { } sendAt && sendAt > S.AcceptedAt) await _wakeUps.Schedule(this.GetGrainId(), sendAt);
            Kick();
        }
        return Status();
    }

    public Task<BatchStatusView?> GetStatus() => Task.FromResult(S.Sealed ? Status() : null);

    public Task<IReadOnlyList<LetterView>> GetLetters(bool errorsOnly, int skip, int take) =>
        Task.FromResult<IReadOnlyList<LetterView>>([.. _ledger.InOrder(errorsOnly).Skip(skip).Take(take).Select(l => l.ToView())]);

    public Task<IReadOnlyList<RowIssue>> GetIssues(int skip, int take) =>
        Task.FromResult<IReadOnlyList<RowIssue>>([.. AllIssues().Skip(skip).Take(take)]);

    public async Task<int> RetryFailed()
    {
        if (!S.Sealed) return 0;
        var reset = _ledger.ResetFailed();
        if (reset.Count == 0) return 0;
        S.CompletedAt = null;
        await _writer.SaveAsync();
        _log.LogInformation("Batch {BatchId}: {Count} failed letters sent again", BatchId, reset.Count);
        Kick();
        return reset.Count;
    }

    public async Task<LetterPreview?> Preview(int row, bool renderPdf = true)
    {
        if (S.Header is null) return null;
        var found = await FindRow(row);
        if (found is null) return null;
        if (!renderPdf) return new LetterPreview(row, [], Attachments(Header, found), found.Fields);
        var recipient = (await Registry.Lookup([Query(found, found.Kind, found.RecipientId)]))[0];
        var header = Header;
        var pdf = await Task.Run(() => _rendering.Render(header, found, recipient));
        return new LetterPreview(row, pdf, Attachments(header, found), found.Fields);
    }

    private static IReadOnlyList<AttachmentInfo> Attachments(BatchHeader header, BatchRow row) =>
        [.. LetterFactory.Attachments(header, row).Select(a => new AttachmentInfo(a.Filename, a.ContentType, a.Content.LongLength))];

    public Task WakeUp()
    {
        if (S.Sealed && S.CompletedAt is null) Kick();
        return Task.CompletedTask;
    }

    private int AcceptedRows => S.Chunks.Values.Sum(c => c.Rows);
    private int RejectedRows => AllIssues().Where(i => i.Severity == IssueSeverity.Error).Select(i => i.Row).Distinct().Count();
    private IEnumerable<RowIssue> AllIssues() => S.Chunks.OrderBy(c => c.Key).SelectMany(c => c.Value.Issues);
    private int UndispatchedRows => S.Chunks.Where(c => c.Key >= S.DispatchedChunks).Sum(c => c.Value.Rows);

    private BatchStatusView Status()
    {
        var counts = _ledger.Counts(AcceptedRows, RejectedRows, UndispatchedRows);
        var letters = counts.Pending + S.Letters.Count - S.Letters.Values.Count(l => l.State == LetterState.Pending);
        var phase = !S.Sealed ? BatchPhase.Receiving
            : S.CompletedAt is not null ? BatchPhase.Completed
            : Header.Options.SendAt > _time.GetUtcNow() ? BatchPhase.Scheduled
            : BatchPhase.Sending;
        return new BatchStatusView(BatchId, Header.SenderBatchId, Header.SenderId, Header.Options.Label, phase, counts,
            letters == 0 ? 1 : (double)_ledger.Final / letters, S.AcceptedAt, Header.Options.SendAt, S.CompletedAt,
            counts.Pending, S.ArchiveQueue.Count, AllIssues().Count(i => i.Severity == IssueSeverity.Warning));
    }

    private void Kick()
    {
        if (_dispatching is null || _dispatching.IsCompleted) _dispatching = Dispatch();
    }

    private async Task Dispatch()
    {
        try
        {
            if (Header.Options.SendAt is { } sendAt && sendAt > _time.GetUtcNow()) return;
            while (S.DispatchedChunks < S.ChunkCount)
            {
                var chunk = S.DispatchedChunks;
                if (S.Chunks.GetValueOrDefault(chunk) is { Rows: > 0 })
                {
                    var rows = await GrainFactory.GetGrain<IBatchChunkGrain>(BatchChunkGrain.KeyOf(BatchId, chunk)).GetRows();
                    var (letters, known) = await MakeLetters(rows);
                    await SendLetters(letters, known);
                }
                S.DispatchedChunks = chunk + 1;
                await _writer.SaveAsync();
            }
            // Letters put back by "retry failed", or left pending by an interrupted dispatch (whose message may exist:
            // submitting it again is idempotent).
            var pending = S.Letters.Values.Where(l => l.State == LetterState.Pending).ToList();
            if (pending.Count > 0)
            {
                var rows = new Dictionary<int, BatchRow>();
                foreach (var row in pending.Select(l => l.Row).Distinct())
                    if (await FindRow(row) is { } found) rows[row] = found;
                await SendLetters([.. pending.Where(l => rows.ContainsKey(l.Row)).Select(l => (rows[l.Row], l))]);
                await _writer.SaveAsync();
            }
            if (_reconcile) await Reconcile();
            CheckCompleted();
        }
        catch (Exception e)
        {
            // Every step is idempotent: this activation tries again shortly, and the safety-net wake-up brings a new
            // one if this one is gone.
            _retryDispatchAt = _time.GetUtcNow() + DispatchRetry;
            _log.LogWarning(e, "Dispatch of batch {BatchId} was interrupted; it resumes in {Retry}", BatchId, DispatchRetry);
        }
    }

    /// <summary>The letters of a chunk's rows: each row's own, and copies to guardians of minors and to the row's
    /// extra recipients. Letters made before (an interrupted dispatch) are kept as they are. Also returns what the
    /// registry said of each row's own recipient, so sending need not ask again.</summary>
    private async Task<(List<(BatchRow Row, LetterRecord Letter)> Letters, Dictionary<RecipientQuery, RecipientInfo> Known)> MakeLetters(IReadOnlyList<BatchRow> rows)
    {
        var infos = await Registry.Lookup([.. rows.Select(r => Query(r, r.Kind, r.RecipientId))]);
        var known = new Dictionary<RecipientQuery, RecipientInfo>();
        var letters = new List<(BatchRow, LetterRecord)>();
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var copies = new List<string>();
            if (Header.Options.CopyToGuardians && infos[i].IsMinor) copies.AddRange(infos[i].Guardians);
            copies.AddRange(row.Copies.Where(c => !copies.Contains(c)));
            var recipients = new List<(RecipientKind Kind, string Id)> { (row.Kind, infos[i].Id) };
            known[Query(row, row.Kind, infos[i].Id)] = infos[i];
            recipients.AddRange(copies.Select(c => (c.Length == 8 ? RecipientKind.Cvr : RecipientKind.Cpr, c)));
            for (var copy = 0; copy < recipients.Count; copy++)
            {
                if (!S.Letters.TryGetValue(LetterRecord.KeyOf(row.Row, copy), out var letter))
                    letter = _ledger.Add(new LetterRecord { Row = row.Row, Copy = copy, Kind = recipients[copy].Kind, RecipientId = recipients[copy].Id });
                if (letter.State == LetterState.Pending) letters.Add((row, letter));
            }
        }
        return (letters, known);
    }

    /// <summary>Checks each letter's recipient, renders the letters that go out, and hands each to its message.
    /// Recipients in <paramref name="known"/> are not looked up again.</summary>
    private async Task SendLetters(List<(BatchRow Row, LetterRecord Letter)> letters, Dictionary<RecipientQuery, RecipientInfo>? known = null)
    {
        if (letters.Count == 0) return;
        var queries = letters.Select(x => Query(x.Row, x.Letter.Kind, x.Letter.RecipientId, x.Letter.Copy)).ToList();
        var infoOf = new Dictionary<RecipientQuery, RecipientInfo>(known ?? []);
        var missing = queries.Where(q => !infoOf.ContainsKey(q)).Distinct().ToList();
        if (missing.Count > 0)
            foreach (var (query, info) in missing.Zip(await Registry.Lookup(missing))) infoOf[query] = info;
        var infos = queries.Select(q => infoOf[q]).ToList();
        var outgoing = new List<(BatchRow Row, LetterRecord Letter, RecipientInfo Recipient)>();
        for (var i = 0; i < letters.Count; i++)
        {
            var (row, letter) = letters[i];
            var decision = RecipientCheck.Decide(infos[i], Header.Options.Channel);
            if (decision.Returned is { } why)
            {
                Fail(letter, LetterState.Returned, why.Code, why.Text, why.Remedy);
                continue;
            }
            letter.Channel = decision.Channel;
            outgoing.Add((row, letter, infos[i]));
        }

        // Rendering is CPU work: off the grain's turn, in parallel, one PDF per row shared by its copies.
        var header = Header;
        var byRow = outgoing.GroupBy(o => o.Row.Row).Select(g => g.MinBy(o => o.Letter.Copy)).ToList();
        var pdfs = await Task.Run(() =>
        {
            var rendered = new byte[byRow.Count][];
            Parallel.For(0, byRow.Count, i => rendered[i] = _rendering.Render(header, byRow[i].Row, byRow[i].Recipient));
            return byRow.Select((o, i) => (o.Row.Row, Pdf: rendered[i])).ToDictionary(x => x.Row, x => x.Pdf);
        });

        using var gate = new SemaphoreSlim(_options.DispatchConcurrency);
        await Task.WhenAll(outgoing.Select(async o =>
        {
            await gate.WaitAsync();
            try { await Submit(o.Row, o.Letter, o.Recipient, pdfs[o.Row.Row]); }
            finally { gate.Release(); }
        }));
        _dirty = true;
    }

    private async Task Submit(BatchRow row, LetterRecord letter, RecipientInfo recipient, byte[] pdf)
    {
        var uuid = BatchIds.Letter(BatchId, row.Row, letter.Copy, letter.Generation);
        letter.MessageUuid = uuid;
        var message = LetterFactory.Create(uuid, Header, BatchId, row, letter.Copy, recipient, letter.Channel!.Value, pdf);
        try
        {
            // Duplicate or Conflict: this letter's message exists from an interrupted dispatch; it is the same letter.
            await GrainFactory.GetGrain<IMessageGrain>(uuid).Submit(message);
            if (letter.State == LetterState.Pending) letter.State = LetterState.Queued;
        }
        catch (ValidationException e)
        {
            Fail(letter, LetterState.Failed, "INVALID", e.Message, "correct the batch's options or the row and send it again");
        }
    }

    private void Fail(LetterRecord letter, LetterState state, string code, string text, string remedy)
    {
        letter.State = state;
        (letter.ErrorCode, letter.ErrorText, letter.Remedy) = (code, text, remedy);
        var change = new LetterStatusChanged(new BatchRef(BatchId, letter.Row, letter.Copy), letter.MessageUuid ?? Guid.Empty, state, _time.GetUtcNow(), code, text);
        _toWebhook.Add(change);
        _dirty = true;
    }

    /// <summary>Asks the messages of the letters not final yet for their status, and takes what the batch missed.</summary>
    private async Task Reconcile()
    {
        _reconcile = false;
        var open = S.Letters.Values.Where(l => l.MessageUuid is not null && !l.State.IsFinal()).Select(l => l.MessageUuid!.Value).ToList();
        var missed = 0;
        using var gate = new SemaphoreSlim(_options.DispatchConcurrency);
        await Task.WhenAll(open.Select(async uuid =>
        {
            await gate.WaitAsync();
            try
            {
                if (await GrainFactory.GetGrain<IMessageGrain>(uuid).GetLetterStatus() is { } change && Heard(change)) missed++;
            }
            finally { gate.Release(); }
        }));
        _reconcileAfter = missed > 0 ? _options.ReconcileAfter : TimeSpan.FromTicks(Math.Min(2 * _reconcileAfter.Ticks, LongestReconcileInterval.Ticks));
        _lastHeard = _time.GetUtcNow();
        if (missed > 0) _log.LogWarning("Batch {BatchId}: {Missed} of {Open} open letters had changes it never heard of", BatchId, missed, open.Count);
    }

    /// <summary>Takes a letter's change, from its stream or from its message; false when it changes nothing.</summary>
    private bool Heard(LetterStatusChanged change)
    {
        if (!_ledger.Apply(change)) return false;
        _lastHeard = _time.GetUtcNow();
        _dirty = true;
        _toWebhook.Add(change);
        if (change.State is LetterState.Delivered or LetterState.DeliveredToVirk or LetterState.HandedToPostalService or LetterState.SentAsNemSms)
        {
            var letter = S.Letters[LetterRecord.KeyOf(change.Letter.Row, change.Letter.Copy)];
            S.ArchiveQueue.Add(new ArchiveItem(letter.Kind, letter.RecipientId, new ArchivedLetter(change.MessageUuid, BatchId, letter.Row, letter.Copy,
                letter.Copy == 0 ? Header.Options.Label : $"Kopi: {Header.Options.Label}", change.State, change.At, change.Attempts ?? [])));
        }
        CheckCompleted();
        return true;
    }

    private void CheckCompleted()
    {
        if (S.CompletedAt is not null || !S.Sealed || S.DispatchedChunks < S.ChunkCount) return;
        if (S.Letters.Values.Any(l => !l.State.IsFinal())) return;
        S.CompletedAt = _time.GetUtcNow();
        _dirty = true;
        _log.LogInformation("Batch {BatchId} completed: {Letters} letters", BatchId, S.Letters.Count);
    }

    /// <summary>On a timer: stores the letters' states, passes changes to the webhook outbox and archives final letters.
    /// Group commit: one write covers every change since the last.</summary>
    private Task Flush()
    {
        if (_flushing is null || _flushing.IsCompleted) _flushing = FlushOnce();
        return _flushing;
    }

    private async Task FlushOnce()
    {
        if (S.Header is null) return;
        if (_toWebhook.Count > 0)
        {
            var changes = _toWebhook.ToList();
            _toWebhook.Clear();
            await GrainFactory.GetGrain<ISenderGrain>(Header.SenderId).Notify(BatchId, Header.SenderBatchId, changes);
        }
        if (S.ArchiveQueue.Count > 0)
        {
            var items = S.ArchiveQueue.Take(_options.DispatchConcurrency * 4).ToList();
            await Task.WhenAll(items.Select(i => GrainFactory.GetGrain<IArchiveCaseGrain>(_caseKeys.Of(Header.SenderId, i.Kind, i.RecipientId)).Archive(i.Kind, i.Letter)));
            S.ArchiveQueue.RemoveRange(0, items.Count);
            _dirty = true;
        }
        // The batch's state grows with its letters: writing it costs more as the batch grows, so writes are spaced
        // to keep storage to about a tenth of the grain's time. Webhook and archive forwarding above do not wait.
        if (_dirty && (Environment.TickCount64 >= _nextWriteAt || S.CompletedAt is not null))
        {
            var started = Environment.TickCount64;
            await _writer.SaveAsync();
            _nextWriteAt = Environment.TickCount64 + Math.Max((long)_options.FlushInterval.TotalMilliseconds, 10 * (Environment.TickCount64 - started));
        }

        var now = _time.GetUtcNow();
        if (_retryDispatchAt <= now)
        {
            _retryDispatchAt = null;
            Kick();
        }
        else if (S.Sealed && S.CompletedAt is null && S.DispatchedChunks == S.ChunkCount && now - _lastHeard >= _reconcileAfter && _dispatching is not { IsCompleted: false })
        {
            _reconcile = true;
            Kick();
        }
        if (S.Sealed && (S.CompletedAt is null || S.ArchiveQueue.Count > 0) && now + SafetyNet / 2 > _safetyNetUntil)
        {
            _safetyNetUntil = now + SafetyNet;
            await _wakeUps.Schedule(this.GetGrainId(), _safetyNetUntil);
        }
    }

    private async Task<BatchRow?> FindRow(int row)
    {
        var chunk = S.Chunks.FirstOrDefault(c => c.Value.Rows > 0 && c.Value.FirstRow <= row && row <= c.Value.LastRow);
        if (chunk.Value is null) return null;
        var rows = await GrainFactory.GetGrain<IBatchChunkGrain>(BatchChunkGrain.KeyOf(BatchId, chunk.Key)).GetRows();
        return rows.FirstOrDefault(r => r.Row == row);
    }

    private static RecipientQuery Query(BatchRow row, RecipientKind kind, string id, int copy = 0) =>
        new(kind, id, copy == 0 && kind == RecipientKind.Cvr ? row.PNumber : null);

    private IRecipientRegistryGrain Registry => GrainFactory.GetGrain<IRecipientRegistryGrain>(0);
}
