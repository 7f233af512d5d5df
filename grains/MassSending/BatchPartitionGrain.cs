using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using DigitalPost.Ngdp;
using DigitalPost.Retention;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace DigitalPost.Grains;

/// <summary>A share of a merge batch: its chunks are those whose number modulo the batch's partition count is its own.
/// It makes and sends their letters, keeps the ledger of its own letters only (loaded from the letter store when it
/// activates), hears their changes on its own stream and by direct calls, reconciles what it may have missed, and
/// reports to the batch once all its letters are final (its send loop is <see cref="PartitionDispatchLoop"/>).
/// Reentrant: tallies and receipts are served while it dispatches.
/// <para>A crash is survived by the letter store (its letters), its small state (how far it dispatched) and its own
/// safety-net wake-up: a new activation loads its letters, asks its open letters' messages, and resumes.</para>
/// <para>Placed by its number round the active silos (<see cref="PartitionPlacement"/>): a batch is sent by all of them.</para></summary>
[Reentrant, ImplicitStreamSubscription(LetterStream.Namespace), PartitionPlacement]
public sealed class BatchPartitionGrain : Grain, IBatchPartitionGrain, IStreamSubscriptionObserver
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromMinutes(1);
    private readonly IPersistentState<BatchPartitionState> _state;
    private readonly TimeProvider _time;
    private readonly WakeUps _wakeUps;
    private readonly ILetterStore _store;
    private readonly IRecipientRegistryStore _registry;
    private readonly MassSendingOptions _options;
    private readonly CoalescingWriter _writer;
    private readonly ILogger<BatchPartitionGrain> _log;
    private readonly Func<PartitionContext, (BulkLane Bulk, LaneEntry Lanes, LetterEvents Events)> _parts;
    private PartitionContext? _context;
    private BulkLane _bulk = null!;
    private PartitionDispatchLoop _dispatch = null!;
    private Task? _flushing;
    private DateTimeOffset _safetyNetUntil;
    private PartitionReconciliation _reconciliation = null!;

    public BatchPartitionGrain([PersistentState("partition", StorageNames.Platform)] IPersistentState<BatchPartitionState> state,
        TimeProvider time, WakeUps wakeUps, ILetterStore store, IArchiveStore archive, ICitizenLaneStore citizens, IPrintStore print, IRecipientRegistryStore registry,
        ReceiverSystemDelivery receiverSystems, LetterRendering rendering, IOptions<MassSendingOptions> options, IOptions<ResendFlowOptions> flow, IOptions<PrintOptions> printing,
        ILogger<BatchPartitionGrain> log)
    {
        (_state, _time, _wakeUps, _store, _registry, _options, _log) = (state, time, wakeUps, store, registry, options.Value, log);
        _parts = context => (new BulkLane(context, store, receiverSystems, rendering, flow.Value), new LaneEntry(context, citizens, print, printing.Value.PrintAfter),
            new LetterEvents(context, archive, new CaseKeys(options.Value.ArchiveKey)));
        _writer = new CoalescingWriter(_state.WriteStateAsync);
    }

    private BatchPartitionState S => _state.State;
    private PartitionContext C => _context ?? throw new InvalidOperationException("The partition's batch is not sealed.");
    private IReadOnlyList<PartitionChunk> Chunks => C.Plan.Chunks;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (batchId, partition) = BatchPartitions.Parse(this.GetPrimaryKeyString());
        if (await GrainFactory.GetGrain<IMergeBatchGrain>(batchId).GetPlan(partition) is not { } plan) return;
        var ledger = new BatchLedger(await _store.Load(batchId, [.. plan.Chunks.Where(c => c.Rows > 0).Select(c => (c.FirstRow, c.LastRow))]));
        var context = new PartitionContext(batchId, partition, plan, ledger, GrainFactory, _registry, _time, _options, _log);
        (_bulk, var lanes, context.Events) = _parts(context);
        context.Saver = new LetterSaver(_store, batchId, plan.Header.SenderId, plan.Header.Options.Label, ledger, context.Events.CaseKeyOf);
        _reconciliation = new PartitionReconciliation(context, _store, _bulk, BulkDelivered, PrintProgressed);
        _dispatch = new PartitionDispatchLoop(context, new LetterDispatch(context, lanes, _bulk), _bulk, _reconciliation, _store, () => _state.State, _writer, ReportCompleted);
        _context = context;
        if (S.Started && !S.Completed)
        {
            context.Events.ReplayFinal();
            await context.Events.Requeue();
        }
        this.RegisterGrainTimer(Flush, new GrainTimerCreationOptions(_options.FlushInterval, _options.FlushInterval));
        if (S.Started && !S.Completed)
        {
            // The activation before this one may have died: what it had heard but not stored is asked again.
            _dispatch.RunReconciling();
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await Flush();

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<LetterStatusChanged>().ResumeAsync((change, _) =>
        {
            _context?.Heard(change);
            return Task.CompletedTask;
        });

    public async Task Start()
    {
        if (_context is null) return;
        if (!S.Started)
        {
            S.Started = true;
            await _writer.SaveAsync();
        }
        if (S.Completed) await ReportCompleted();
        else _dispatch.Run();
    }

    public Task WakeUp()
    {
        if (_context is not null && S.Started && !S.Completed) _dispatch.Run();
        return Task.CompletedTask;
    }

    public Task<PartitionTally> GetTally() => Task.FromResult(Tally());

    /// <summary>Its letters, plus one pending letter for each row of its undispatched chunks without letters yet.</summary>
    private PartitionTally Tally()
    {
        if (_context is null) return BatchTally.Unsent(0);
        var (counts, letters, final) = C.Ledger.Tally(0, 0, C.Ledger.RowsWithoutLetters(Chunks.Skip(S.DispatchedChunks)), S.Cancelled);
        return new PartitionTally(counts, letters, final, C.Events.ArchiveQueue);
    }

    public Task SaveLetters() => _context is null ? Task.CompletedTask : C.Saver.Save();

    public Task<bool> Forget() => StateForgetting.Forget(_state, this);

    public async Task<int> Cancel()
    {
        if (_context is null || S.Completed) return 0;
        var unmade = S.Cancelled ? 0 : C.Ledger.RowsWithoutLetters(Chunks.Skip(S.DispatchedChunks));
        // Marked before the first await: from here on no send step of this activation takes these letters (a step
        // gives a letter its message id before it sends it, and skips a letter that is not pending).
        var cancelled = C.Ledger.CancelUnsent();
        if (!S.Cancelled || !S.Started)
        {
            // Started too: a batch still waiting for its send time completes now, with its letters cancelled.
            (S.Cancelled, S.Started) = (true, true);
            await _writer.SaveAsync();
        }
        await _dispatch.StoreCancelled(cancelled);
        _log.LogInformation("Partition {Partition} of batch {BatchId} cancelled: {Letters} letters, {Rows} rows without letters yet",
            C.Partition, C.BatchId, cancelled.Count, unmade);
        _dispatch.Run();
        return cancelled.Count + unmade;
    }

    public async Task<int> RetryFailed()
    {
        if (_context is null || !S.Started || S.Cancelled) return 0;
        var reset = C.Ledger.ResetFailed();
        if (reset.Count == 0) return 0;
        foreach (var letter in reset) C.Saver.Changed(letter.Key);
        S.Completed = false;
        await _writer.SaveAsync();
        _dispatch.Run();
        return reset.Count;
    }

    public Task BulkDelivered(IReadOnlyList<BulkLetter> letters, DateTimeOffset at)
    {
        foreach (var delivered in letters)
        {
            _bulk.Delivered(LetterRecord.KeyOf(delivered.Row, delivered.Copy));
            // Already stored as delivered by the receipt; the ledger only catches up.
            C.Moved(new LetterStatusChanged(new BatchRef(C.BatchId, delivered.Row, delivered.Copy, C.Partition), delivered.MessageUuid, LetterState.Delivered, at), at);
        }
        return Task.CompletedTask;
    }

    public Task<MessageStatusView?> BulkView(Guid messageUuid, int row, int copy) =>
        Task.FromResult(C.Ledger.Letters.TryGetValue(LetterRecord.KeyOf(row, copy), out var letter) && letter.MessageUuid == messageUuid
            ? BulkLetterView.Of(letter, C.Plan.AcceptedAt) : null);

    public async Task BulkFailed(BulkLetter failed, BusinessReceipt receipt)
    {
        if (!C.Ledger.Letters.TryGetValue(LetterRecord.KeyOf(failed.Row, failed.Copy), out var letter) || letter.MessageUuid != failed.MessageUuid
            || letter.BulkSystem is null || letter.State.IsFinal()) return;
        await _bulk.HandOver(letter, receipt);
    }

    /// <summary>Told by the print provider, which moved the letters' rows first: the ledger catches up.</summary>
    public Task PrintProgressed(IReadOnlyList<BulkLetter> letters, LetterState state, DateTimeOffset at)
    {
        foreach (var moved in letters)
            C.Moved(new LetterStatusChanged(new BatchRef(C.BatchId, moved.Row, moved.Copy, C.Partition), moved.MessageUuid, state, at), at);
        return Task.CompletedTask;
    }

    private Task ReportCompleted() => GrainFactory.GetGrain<IMergeBatchGrain>(C.BatchId).PartitionCompleted(C.Partition, Tally());

    /// <summary>On a timer: stores the letters' states, passes changes to the webhook outbox and archive, and keeps the
    /// safety-net wake-up ahead while the partition is not complete.</summary>
    private Task Flush()
    {
        if (_flushing is null || _flushing.IsCompleted) _flushing = FlushOnce();
        return _flushing;
    }

    private async Task FlushOnce()
    {
        if (_context is null || !S.Started) return;
        await C.Events.Flush();
        await C.Saver.Save();
        await _bulk.HandOverOverdue(_reconciliation.CatchUpBulk);
        await _dispatch.CheckCompleted();

        var now = _time.GetUtcNow();
        _dispatch.OnFlush(now);
        if (!S.Completed && now + SafetyNet / 2 > _safetyNetUntil)
        {
            _safetyNetUntil = now + SafetyNet;
            await _wakeUps.Schedule(this.GetGrainId(), _safetyNetUntil);
        }
    }
}
