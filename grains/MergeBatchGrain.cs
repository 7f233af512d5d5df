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


[GenerateSerializer, Alias("dp.MergeBatchState"), SnapshotOnWrite]
public sealed class MergeBatchState
{
    [Id(0)] public BatchHeader? Header { get; set; }
    [Id(1)] public bool Sealed { get; set; }
    [Id(2)] public DateTimeOffset AcceptedAt { get; set; }
    [Id(3)] public Dictionary<int, ChunkInfo> Chunks { get; set; } = [];
    [Id(4)] public int ChunkCount { get; set; }
    /// <summary>Chunks 0..DispatchedChunks-1 have all their letters made.</summary>
    [Id(5)] public int DispatchedChunks { get; set; }
    // Id 6 held the letters; they live in the letter store now.
    // Id 7 held the archive queue; letters not yet archived are known from the letter store now.
    [Id(8)] public DateTimeOffset? CompletedAt { get; set; }
    /// <summary>Completed, and every delivered letter is in the archive: a later activation has nothing to requeue.</summary>
    [Id(9)] public bool Archived { get; set; }
}

/// <summary>A merge batch. It takes its rows in chunks, then (at its send time) makes each row's letters: the recipient
/// check decides the channel, and the letters are stored in the letter store before any goes out.
/// <para>Letters to organisations' receiver systems go out in the bulk lane: pushed by the batch, several to a push where
/// the system takes that, and finished by their positive receipts straight in the letter store, so a clean delivery
/// needs no message grain at all. A letter whose push or receipt fails is taken over by its message grain, which runs
/// the resend flow. Every other letter (citizens, print, NemSMS, the Virk mailbox) goes to its message grain at once.</para>
/// <para>Message grains report on the batch's stream, the bulk lane by direct calls; the batch keeps the counts,
/// archives delivered letters and passes every change on to the sender's webhook outbox. Reentrant: status queries and
/// receipts are served while it dispatches.</para></summary>
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
    private readonly ILetterStore _store;
    private readonly ReceiverSystemClient _receiverSystems;
    private readonly ResendFlowOptions _flow;
    private readonly IArchiveStore _archive;
    private readonly IRecipientRegistryStore _registry;
    private readonly List<LetterStatusChanged> _toWebhook = [];
    /// <summary>Delivered letters of message grains not yet in their recipients' cases: their entries are made when they
    /// are archived. A letter delivered in the bulk lane is in its case by its own row in the letter store.</summary>
    private readonly Queue<(long Key, DateTimeOffset At, IReadOnlyList<DeliveryAttempt> Receipts)> _toArchive = [];
    private bool _described;
    /// <summary>Letters changed since they were last stored.</summary>
    private readonly HashSet<long> _changed = [];
    /// <summary>Letters made by this activation and never stored: their first save is a plain insert.</summary>
    private readonly HashSet<long> _unsaved = [];
    /// <summary>Bulk-lane letters pushed by this activation and awaiting their receipts, with the push's time and target.</summary>
    private readonly Dictionary<long, (DateTimeOffset PushedAt, DeliveryTarget Target)> _awaiting = [];
    private SemaphoreSlim? _pushes;
    private BatchLedger _ledger = new([]);
    private Task? _dispatching;
    private Task? _flushing;
    private bool _dirty;
    private DateTimeOffset _safetyNetUntil;
    private DateTimeOffset? _retryDispatchAt;
    private bool _reconcile;
    private DateTimeOffset _lastHeard;
    private TimeSpan _reconcileAfter;

    public MergeBatchGrain([PersistentState("batch", StorageNames.Platform)] IPersistentState<MergeBatchState> state,
        TimeProvider time, WakeUps wakeUps, LetterRendering rendering, IOptions<MassSendingOptions> options, IOptions<ResendFlowOptions> flow,
        ILetterStore store, IArchiveStore archive, IRecipientRegistryStore registry, ReceiverSystemClient receiverSystems, ILogger<MergeBatchGrain> log)
    {
        (_state, _time, _wakeUps, _rendering, _options, _flow, _store, _archive, _registry, _receiverSystems, _log) =
            (state, time, wakeUps, rendering, options.Value, flow.Value, store, archive, registry, receiverSystems, log);
        _writer = new CoalescingWriter(() =>
        {
            _dirty = false;
            return _state.WriteStateAsync();
        });
        _caseKeys = new CaseKeys(_options.ArchiveKey);
    }

    private MergeBatchState S => _state.State;
    private Guid BatchId => this.GetPrimaryKey();
    private BatchHeader Header => S.Header!;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Header is not null)
        {
            _ledger = new BatchLedger(await _store.Load(BatchId));
            if (!S.Archived) await RequeueArchive();
        }
        this.RegisterGrainTimer(Flush, new GrainTimerCreationOptions(_options.FlushInterval, _options.FlushInterval));
        (_lastHeard, _reconcileAfter) = (_time.GetUtcNow(), _options.ReconcileAfter);
        if (S.Sealed && S.CompletedAt is null)
        {
            // The activation before this one may have died: what it had heard but not stored is asked again.
            _reconcile = true;
            Kick();
        }
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
        foreach (var letter in reset) _changed.Add(letter.Key);
        S.CompletedAt = null;
        S.Archived = false;
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
        var recipient = (await _registry.Lookup([Query(found, found.Kind, found.RecipientId)]))[0];
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
        var (counts, letters, final) = _ledger.Tally(AcceptedRows, RejectedRows, UndispatchedRows);
        var phase = !S.Sealed ? BatchPhase.Receiving
            : S.CompletedAt is not null ? BatchPhase.Completed
            : Header.Options.SendAt > _time.GetUtcNow() ? BatchPhase.Scheduled
            : BatchPhase.Sending;
        return new BatchStatusView(BatchId, Header.SenderBatchId, Header.SenderId, Header.Options.Label, phase, counts,
            letters == 0 ? 1 : (double)final / letters, S.AcceptedAt, Header.Options.SendAt, S.CompletedAt,
            counts.Pending, _toArchive.Count, AllIssues().Count(i => i.Severity == IssueSeverity.Warning));
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
                // Several chunks a step: each step costs round trips (rows, registry, store, the batch's own state)
                // whatever its size.
                var first = S.DispatchedChunks;
                var end = Math.Min(S.ChunkCount, first + Math.Max(1, _options.ChunksPerDispatch));
                var chunks = await Task.WhenAll(Enumerable.Range(first, end - first)
                    .Where(c => S.Chunks.GetValueOrDefault(c) is { Rows: > 0 })
                    .Select(c => GrainFactory.GetGrain<IBatchChunkGrain>(BatchChunkGrain.KeyOf(BatchId, c)).TakeRows()));
                var rows = chunks.SelectMany(c => c).ToList();
                if (rows.Count > 0)
                {
                    var (letters, known) = await MakeLetters(rows);
                    await SendLetters(letters, known);
                }
                S.DispatchedChunks = end;
                await _writer.SaveAsync();
            }
            // Letters put back by "retry failed", left pending by an interrupted dispatch (whose message may exist:
            // submitting it again is idempotent), or pushed in bulk by an activation that is gone (whether their push
            // went out is unknown: receivers take a repeat by its id).
            var pending = _ledger.Letters.Values
                .Where(l => l.State == LetterState.Pending || l.BulkSystem is not null && l.State == LetterState.Queued && !_awaiting.ContainsKey(l.Key))
                .ToList();
            if (pending.Count > 0)
            {
                var rows = new Dictionary<int, BatchRow>();
                foreach (var row in pending.Select(l => l.Row).Distinct())
                    if (await FindRow(row) is { } found) rows[row] = found;
                await SendLetters([.. pending.Where(l => rows.ContainsKey(l.Row)).Select(l => (rows[l.Row], l))]);
                await _writer.SaveAsync();
            }
            await PushWaiting();
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
        var infos = await _registry.Lookup([.. rows.Select(r => Query(r, r.Kind, r.RecipientId))]);
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
                if (!_ledger.Letters.TryGetValue(LetterRecord.KeyOf(row.Row, copy), out var letter))
                {
                    // Not marked changed: sending it marks it, once its channel is known, and its first save is an insert.
                    letter = _ledger.Add(new LetterRecord { Row = row.Row, Copy = copy, Kind = recipients[copy].Kind, RecipientId = recipients[copy].Id });
                    _unsaved.Add(letter.Key);
                }
                if (letter.State == LetterState.Pending) letters.Add((row, letter));
            }
        }
        return (letters, known);
    }

    /// <summary>Checks each letter's recipient and sends the letters that go out: in bulk where a receiver system takes
    /// them, through their message grains otherwise. Recipients in <paramref name="known"/> are not looked up again.
    /// Every letter is stored before it goes out, so that its receipt finds it.</summary>
    private async Task SendLetters(List<(BatchRow Row, LetterRecord Letter)> letters, Dictionary<RecipientQuery, RecipientInfo>? known = null)
    {
        if (letters.Count == 0) return;
        var queries = letters.Select(x => Query(x.Row, x.Letter.Kind, x.Letter.RecipientId, x.Letter.Copy)).ToList();
        var infoOf = new Dictionary<RecipientQuery, RecipientInfo>(known ?? []);
        var missing = queries.Where(q => !infoOf.ContainsKey(q)).Distinct().ToList();
        if (missing.Count > 0)
            foreach (var (query, info) in missing.Zip(await _registry.Lookup(missing))) infoOf[query] = info;
        var outgoing = new List<Outgoing>();
        for (var i = 0; i < letters.Count; i++)
        {
            var (row, letter) = letters[i];
            if (!Sendable(letter)) continue;
            var recipient = infoOf[queries[i]];
            var decision = RecipientCheck.Decide(recipient, Header.Options.Channel);
            if (decision.Returned is { } why)
            {
                Fail(letter, LetterState.Returned, why.Code, why.Text, why.Remedy);
                continue;
            }
            letter.Channel = decision.Channel;
            letter.MessageUuid = BatchIds.Letter(BatchId, row.Row, letter.Copy, letter.Generation);
            _changed.Add(letter.Key);
            outgoing.Add(new Outgoing(row, letter, recipient, await BulkTarget(recipient, letter.Channel!.Value)));
        }

        var now = _time.GetUtcNow();
        // Handed to its message grain while this dispatch looked it up (a receipt to an earlier push of it): that
        // grain owns it now, and a push in bulk would finish it behind the grain's back.
        outgoing.RemoveAll(o => !Sendable(o.Letter));
        foreach (var o in outgoing.Where(o => o.Target is not null))
        {
            o.Letter.BulkSystem = _systemKeys.TryGetValue(o.Recipient.Id, out var key) ? key
                : _systemKeys[o.Recipient.Id] = ReceiverSystemKey.Of(o.Recipient.Id, o.Target!.ReceiverSystemId!);
            o.Letter.State = LetterState.Queued;
            o.Letter.PushedAt = now;
            // Marked again: a flush during the awaits above may have stored this letter as it was then.
            _changed.Add(o.Letter.Key);
        }
        await SaveLetters();

        foreach (var o in outgoing.Where(o => o.Target is not null))
        {
            if (!_toPush.TryGetValue(o.Letter.BulkSystem!, out var waiting)) _toPush[o.Letter.BulkSystem!] = waiting = [];
            waiting.Add(o);
            _awaiting[o.Letter.Key] = (now, o.Target!);
            if (waiting.Count >= o.Target!.MaxMessagesPerPush) await PushWaiting(o.Letter.BulkSystem!);
        }

        using var gate = new SemaphoreSlim(_options.DispatchConcurrency);
        await Task.WhenAll(outgoing.Where(o => o.Target is null).Select(async o =>
        {
            await gate.WaitAsync();
            try { await Submit(o); }
            finally { gate.Release(); }
        }));
    }

    /// <summary>Still the batch's to send: never sent, or in the bulk lane with its push unknown. Not a letter its
    /// message grain has taken over.</summary>
    private static bool Sendable(LetterRecord letter) =>
        letter.State == LetterState.Pending || letter.BulkSystem is not null && letter.State == LetterState.Queued;

    private sealed record Outgoing(BatchRow Row, LetterRecord Letter, RecipientInfo Recipient, DeliveryTarget? Target)
    {
        public Message MessageOf(BatchHeader header, Guid batchId) =>
            LetterFactory.Create(Letter.MessageUuid!.Value, header, batchId, Row, Letter.Copy, Recipient, Letter.Channel!.Value);
    }

    /// <summary>The receiver system a letter goes to in the bulk lane, or null when it goes through its message grain:
    /// only organisations' Digital Post routed to an active receiver system and due now goes in bulk.</summary>
    private async Task<DeliveryTarget?> BulkTarget(RecipientInfo recipient, DeliveryChannel channel)
    {
        if (Header.Options.PerMessageDelivery || channel != DeliveryChannel.DigitalPost || recipient.Kind != RecipientKind.Cvr) return null;
        if (Header.Options.ValoerDate is { } valoer && valoer > _time.GetUtcNow()) return null;
        if (!_routes.TryGetValue(recipient.Id, out var route))
            _routes[recipient.Id] = route = (await GrainFactory.GetGrain<IOrganisationGrain>(recipient.Id).Route(new RouteRequest(null))).Target;
        return route.Kind == DeliveryTargetKind.ReceiverSystem ? route : null;
    }

    /// <summary>Routes per organisation, asked once per activation: a deactivated system's letters fail their push or
    /// receipt and are then routed anew by their message grains.</summary>
    private readonly Dictionary<string, DeliveryTarget> _routes = [];

    /// <summary>One key string per organisation's system, shared by its letters: a million letters, fifty strings.</summary>
    private readonly Dictionary<string, string> _systemKeys = [];

    /// <summary>Bulk letters stored and waiting to fill a push to their receiver system; the rest go when the dispatch
    /// has no more rows.</summary>
    private readonly Dictionary<string, List<Outgoing>> _toPush = [];

    private async Task PushWaiting(string? system = null)
    {
        foreach (var key in system is null ? _toPush.Keys.ToList() : [system])
        {
            if (!_toPush.Remove(key, out var waiting)) continue;
            // A letter taken over by its message grain meanwhile is that grain's to push.
            var still = waiting.Where(o => o.Letter.BulkSystem is not null && !o.Letter.State.IsFinal()).ToList();
            foreach (var push in still.Chunk(Math.Max(1, waiting[0].Target!.MaxMessagesPerPush))) await StartPush(push);
        }
    }

    /// <summary>Pushes one group of bulk letters off the grain's turn (serialising and sending is the costly part) and
    /// comes back to the turn with the outcome. At most <see cref="MassSendingOptions.PushConcurrency"/> at a time.</summary>
    private async Task StartPush(Outgoing[] push)
    {
        _pushes ??= new SemaphoreSlim(_options.PushConcurrency);
        await _pushes.WaitAsync();
        var target = push[0].Target!;
        var now = _time.GetUtcNow();
        foreach (var o in push) _awaiting[o.Letter.Key] = (now, target);
        var header = Header;
        var envelopes = push.Select(o => new PushEnvelope(o.Letter.MessageUuid!.Value, target.ReceiverSystemId!, 1, o.MessageOf(header, BatchId))).ToList();
        var sending = Task.Run(() => _receiverSystems.Push(target.Endpoint!, envelopes, _flow.PushTimeout));
        _ = AfterPush(push, sending);
    }

    private async Task AfterPush(Outgoing[] push, Task<PushResult> sending)
    {
        try
        {
            var result = await sending;
            if (result.Accepted) return;
            _log.LogInformation("Bulk push of {Count} letters of batch {BatchId} to {System} failed ({Code}); their message grains take over",
                push.Length, BatchId, push[0].Target!.ReceiverSystemId, result.ErrorCode);
            // A failed push is no attempt the receiver saw: the message grains start afresh and run the resend flow.
            foreach (var o in push)
            {
                if (!_awaiting.Remove(o.Letter.Key) || o.Letter.BulkSystem is null || o.Letter.State.IsFinal()) continue;
                o.Letter.BulkSystem = null;
                _changed.Add(o.Letter.Key);
            }
            await SaveLetters();
            await Task.WhenAll(push.Where(o => o.Letter.BulkSystem is null && !o.Letter.State.IsFinal()).Select(Submit));
        }
        catch (Exception e)
        {
            // The letters stay queued in bulk; the next dispatch (the safety-net wake-up) pushes them again.
            foreach (var o in push) _awaiting.Remove(o.Letter.Key);
            _log.LogWarning(e, "Bulk push of batch {BatchId} was interrupted; it is pushed again", BatchId);
        }
        finally
        {
            _pushes!.Release();
        }
    }

    private async Task Submit(Outgoing o)
    {
        var letter = o.Letter;
        try
        {
            // Duplicate or Conflict: this letter's message exists from an interrupted dispatch; it is the same letter.
            await GrainFactory.GetGrain<IMessageGrain>(letter.MessageUuid!.Value).Submit(o.MessageOf(Header, BatchId));
            if (letter.State == LetterState.Pending) letter.State = LetterState.Queued;
        }
        catch (ValidationException e)
        {
            Fail(letter, LetterState.Failed, "INVALID", e.Message, "correct the batch's options or the row and send it again");
        }
        _changed.Add(letter.Key);
    }

    public async Task BulkDelivered(IReadOnlyList<BulkLetter> letters, DateTimeOffset at)
    {
        foreach (var delivered in letters)
        {
            var key = LetterRecord.KeyOf(delivered.Row, delivered.Copy);
            _awaiting.Remove(key);
            if (!_ledger.Letters.TryGetValue(key, out var letter)) continue;
            // Already stored as delivered by the receipt; the ledger only catches up.
            var change = new LetterStatusChanged(new BatchRef(BatchId, delivered.Row, delivered.Copy), delivered.MessageUuid, LetterState.Delivered, at);
            if (!_ledger.Apply(change)) continue;
            _lastHeard = _time.GetUtcNow();
            letter.DeliveredAt = at;
            AfterChange(change);
        }
        await Task.CompletedTask;
    }

    public Task<MessageStatusView?> BulkView(Guid messageUuid, int row, int copy)
    {
        if (!_ledger.Letters.TryGetValue(LetterRecord.KeyOf(row, copy), out var letter) || letter.MessageUuid != messageUuid || letter.BulkSystem is null)
            return Task.FromResult<MessageStatusView?>(null);
        var system = ReceiverSystemKey.Parse(letter.BulkSystem).SystemId;
        var pushedAt = letter.PushedAt ?? S.AcceptedAt;
        var delivered = letter.State == LetterState.Delivered;
        var attempt = new DeliveryAttempt(1, system, pushedAt, delivered ? AttemptOutcome.Positive : AttemptOutcome.Pending, letter.DeliveredAt);
        List<MessageEvent> history =
        [
            new(pushedAt, MessageEventKind.Accepted, "accepted with its batch"),
            new(pushedAt, MessageEventKind.Pushed, "attempt 1 pushed with its batch; awaiting the business receipt", system),
            .. delivered ? [new MessageEvent(letter.DeliveredAt ?? pushedAt, MessageEventKind.ReceiptPositive, "delivered: positive business receipt", system)] : Array.Empty<MessageEvent>(),
        ];
        return Task.FromResult<MessageStatusView?>(new MessageStatusView(messageUuid, delivered ? MessageStatus.Delivered : MessageStatus.AwaitingReceipt,
            letter.RecipientId, null, new DeliveryTarget(DeliveryTargetKind.ReceiverSystem, system), pushedAt, null, null, [attempt], history, null, null));
    }

    public async Task BulkFailed(BulkLetter failed, BusinessReceipt receipt)
    {
        var key = LetterRecord.KeyOf(failed.Row, failed.Copy);
        if (!_ledger.Letters.TryGetValue(key, out var letter) || letter.MessageUuid != failed.MessageUuid || letter.BulkSystem is null || letter.State.IsFinal()) return;
        await HandOver(letter, receipt);
    }

    /// <summary>Gives a bulk-lane letter to its message grain, with the push it had and the receipt it got (none when
    /// the receipt is overdue). Stored first: from then on the receipts of this letter go to its message grain.</summary>
    private async Task HandOver(LetterRecord letter, BusinessReceipt? receipt)
    {
        var row = await FindRow(letter.Row);
        if (row is null) return;
        var (pushedAt, target) = _awaiting.Remove(letter.Key, out var awaited) ? awaited : (_time.GetUtcNow(), await RouteOf(letter));
        var recipient = (await _registry.Lookup([Query(row, letter.Kind, letter.RecipientId, letter.Copy)]))[0];
        letter.BulkSystem = null;
        _changed.Add(letter.Key);
        await SaveLetters();
        // A positive receipt of an earlier push of it (by an activation that died) may have finished it in the store
        // first, and a save never overwrites a final state: then it stays delivered in the bulk lane. Once the save
        // took it out of the bulk lane, no bulk receipt can finish it any more.
        if (await _store.Find(letter.MessageUuid!.Value) is { Delivered: true, ReceiverSystemKey: { } system } done)
        {
            letter.BulkSystem = system;
            await BulkDelivered([done], _time.GetUtcNow());
            return;
        }
        var message = new Outgoing(row, letter, recipient, target).MessageOf(Header, BatchId);
        await GrainFactory.GetGrain<IMessageGrain>(letter.MessageUuid!.Value).TakeOver(message, target, pushedAt, receipt);
    }

    private async Task<DeliveryTarget> RouteOf(LetterRecord letter) =>
        (await GrainFactory.GetGrain<IOrganisationGrain>(letter.RecipientId).Route(new RouteRequest(null))).Target;

    /// <summary>Stores the letters changed since the last save, after any save under way: a later save must not be
    /// overtaken by an earlier one's older copies.</summary>
    private Task SaveLetters() => _lastSave = SaveAfter(_lastSave);

    private Task _lastSave = Task.CompletedTask;

    private async Task SaveAfter(Task previous)
    {
        try { await previous; }
        catch { /* that save's caller saw its failure; its letters are marked changed again */ }
        if (_changed.Count == 0) return;
        var letters = _changed.Select(k => _ledger.Letters[k].Clone()).ToList();
        _changed.Clear();
        var fresh = letters.Where(l => _unsaved.Contains(l.Key)).ToList();
        try
        {
            if (!_described)
            {
                // The label its letters carry in the archive, before the first of them can be delivered in bulk.
                await _store.Describe(BatchId, Header.Options.Label);
                _described = true;
            }
            await Task.WhenAll(_store.Insert(BatchId, fresh, CaseKeyOf), _store.Save(BatchId, [.. letters.Where(l => !_unsaved.Contains(l.Key))], CaseKeyOf));
            foreach (var l in fresh) _unsaved.Remove(l.Key);
        }
        catch
        {
            foreach (var l in letters) _changed.Add(l.Key);
            throw;
        }
    }

    private void Fail(LetterRecord letter, LetterState state, string code, string text, string remedy)
    {
        letter.State = state;
        _changed.Add(letter.Key);
        (letter.ErrorCode, letter.ErrorText, letter.Remedy) = (code, text, remedy);
        var change = new LetterStatusChanged(new BatchRef(BatchId, letter.Row, letter.Copy), letter.MessageUuid ?? Guid.Empty, state, _time.GetUtcNow(), code, text);
        _toWebhook.Add(change);
    }

    /// <summary>Asks for what the batch may have missed of its open letters: the message grains for theirs (their stream
    /// is not durable), the letter store for the bulk lane's (a receipt stored there may not have reached the batch).</summary>
    private async Task Reconcile()
    {
        _reconcile = false;
        var missed = await CatchUpBulk();
        var open = _ledger.Letters.Values.Where(l => l.MessageUuid is not null && l.BulkSystem is null && !l.State.IsFinal()).ToList();
        var orphans = new List<LetterRecord>();
        using var gate = new SemaphoreSlim(_options.DispatchConcurrency);
        await Task.WhenAll(open.Select(async letter =>
        {
            await gate.WaitAsync();
            try
            {
                var change = await GrainFactory.GetGrain<IMessageGrain>(letter.MessageUuid!.Value).GetLetterStatus();
                if (change is null && letter.PushedAt is not null) orphans.Add(letter);
                else if (change is not null && Heard(change)) missed++;
            }
            finally { gate.Release(); }
        }));
        // Taken out of the bulk lane, but its message grain never took it over (it died on the way): it does now.
        foreach (var orphan in orphans) await HandOver(orphan, null);
        missed += orphans.Count;
        _reconcileAfter = missed > 0 ? _options.ReconcileAfter : TimeSpan.FromTicks(Math.Min(2 * _reconcileAfter.Ticks, LongestReconcileInterval.Ticks));
        _lastHeard = _time.GetUtcNow();
        if (missed > 0) _log.LogWarning("Batch {BatchId}: {Missed} open letters had changes it never heard of", BatchId, missed);
    }

    /// <summary>Bulk-lane letters delivered in the letter store without the batch having heard of it.</summary>
    private async Task<int> CatchUpBulk()
    {
        var missed = 0;
        var stored = await _store.Load(BatchId);
        foreach (var letter in _ledger.Letters.Values.Where(l => l.BulkSystem is not null && !l.State.IsFinal()).ToList())
            if (stored.GetValueOrDefault(letter.Key) is { State: LetterState.Delivered, BulkSystem: { } system } done && done.MessageUuid == letter.MessageUuid)
            {
                await BulkDelivered([new BulkLetter(BatchId, letter.Row, letter.Copy, letter.MessageUuid!.Value, system)], done.DeliveredAt ?? _time.GetUtcNow());
                missed++;
            }
        return missed;
    }

    /// <summary>Takes a letter's change, from its stream or from its message; false when it changes nothing.</summary>
    private bool Heard(LetterStatusChanged change)
    {
        if (!_ledger.Apply(change)) return false;
        _lastHeard = _time.GetUtcNow();
        _changed.Add(LetterRecord.KeyOf(change.Letter.Row, change.Letter.Copy));
        AfterChange(change);
        return true;
    }

    private void AfterChange(LetterStatusChanged change)
    {
        _toWebhook.Add(change);
        var letter = _ledger.Letters[LetterRecord.KeyOf(change.Letter.Row, change.Letter.Copy)];
        if (ToArchive(letter)) _toArchive.Enqueue((letter.Key, change.At, change.Attempts ?? []));
    }

    /// <summary>Delivered through its message grain and not archived yet. A bulk-lane delivery is in its case already.</summary>
    private static bool ToArchive(LetterRecord letter) => !letter.Archived && letter.BulkSystem is null &&
        letter.State is LetterState.Delivered or LetterState.DeliveredToVirk or LetterState.HandedToPostalService or LetterState.SentAsNemSms;

    private string CaseKeyOf(LetterRecord letter) => _caseKeys.Of(Header.SenderId, letter.Kind, letter.RecipientId);

    private ArchiveEntry ArchiveEntryOf(LetterRecord letter, DateTimeOffset at, IReadOnlyList<DeliveryAttempt> receipts) =>
        new(CaseKeyOf(letter), letter.Kind, new ArchivedLetter(letter.MessageUuid!.Value, BatchId, letter.Row, letter.Copy,
            Archiving.Label(Header.Options.Label, letter.Copy), letter.State, at, receipts));

    /// <summary>After a restart: delivered letters whose archiving was not stored yet go to the archive again (it
    /// ignores repeats), with their receipts from their message grains.</summary>
    private async Task RequeueArchive()
    {
        foreach (var letter in _ledger.Letters.Values.Where(ToArchive).OrderBy(l => l.Key))
            if (await GrainFactory.GetGrain<IMessageGrain>(letter.MessageUuid!.Value).GetStatus() is { } message)
                _toArchive.Enqueue((letter.Key, message.History.LastOrDefault()?.At ?? S.AcceptedAt, message.Attempts));
    }

    private void CheckCompleted()
    {
        if (S.CompletedAt is not null || !S.Sealed || S.DispatchedChunks < S.ChunkCount) return;
        if (_ledger.Letters.Values.Any(l => !l.State.IsFinal())) return;
        S.CompletedAt = _time.GetUtcNow();
        _dirty = true;
        _log.LogInformation("Batch {BatchId} completed: {Letters} letters", BatchId, _ledger.Letters.Count);
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
        if (_toArchive.Count > 0)
        {
            var items = _toArchive.Take(_options.ArchiveBatch).ToList();
            await _archive.Append([.. items.Select(i => ArchiveEntryOf(_ledger.Letters[i.Key], i.At, i.Receipts))]);
            // Not written back to the letters (that was a second write of every letter): until the batch is marked
            // archived, a new activation appends its delivered letters again and the archive drops the repeats.
            foreach (var (key, _, _) in items)
            {
                _toArchive.Dequeue();
                _ledger.Letters[key].Archived = true;
            }
        }
        await SaveLetters();
        await HandOverOverdue();
        // Checked here, not per change: it reads every letter.
        CheckCompleted();
        if (S.CompletedAt is not null && !S.Archived && _toArchive.Count == 0)
        {
            S.Archived = true;
            _dirty = true;
        }
        if (_dirty) await _writer.SaveAsync();

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
        if (S.Sealed && (S.CompletedAt is null || _toArchive.Count > 0) && now + SafetyNet / 2 > _safetyNetUntil)
        {
            _safetyNetUntil = now + SafetyNet;
            await _wakeUps.Schedule(this.GetGrainId(), _safetyNetUntil);
        }
    }

    /// <summary>Bulk-lane letters whose receipt is overdue go to their message grains, which wait out the receipt's
    /// deadline and then run the resend flow.</summary>
    private async Task HandOverOverdue()
    {
        var overdue = _time.GetUtcNow() - _flow.ReceiptTimeout;
        if (!_awaiting.Values.Any(a => a.PushedAt < overdue)) return;
        await CatchUpBulk();
        foreach (var key in _awaiting.Where(a => a.Value.PushedAt < overdue).Select(a => a.Key).ToList())
            if (_ledger.Letters[key] is { BulkSystem: not null } letter && !letter.State.IsFinal()) await HandOver(letter, null);
            else _awaiting.Remove(key);
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
}
