using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;

namespace DigitalPost.Grains;

/// <summary>A batch partition's send loop: dispatches its chunks, cancels what a cancel left unsent, sends again what is
/// pending, pushes its bulk lane, reconciles when asked, and completes the partition when nothing is left. One run at a
/// time; a run that fails is run again on a later flush.</summary>
internal sealed class PartitionDispatchLoop(PartitionContext partition, LetterDispatch dispatch, BulkLane bulk, PartitionReconciliation reconciliation,
    ILetterStore store, Func<BatchPartitionState> state, CoalescingWriter writer, Func<Task> reportCompleted)
{
    private static readonly TimeSpan DispatchRetry = TimeSpan.FromSeconds(5);
    private Task? _running;
    private DateTimeOffset? _retryAt;
    private bool _reconcile;

    private BatchPartitionState S => state();
    private IReadOnlyList<PartitionChunk> Chunks => partition.Plan.Chunks;

    /// <summary>Starts a run unless one is under way.</summary>
    public void Run()
    {
        if (_running is null || _running.IsCompleted) _running = Dispatch();
    }

    /// <summary>Starts a run that also asks what the partition may have missed of its open letters.</summary>
    public void RunReconciling()
    {
        _reconcile = true;
        Run();
    }

    /// <summary>On the partition's flush: an interrupted run runs again, and a quiet spell after the last chunk is
    /// dispatched starts a reconciling run.</summary>
    public void OnFlush(DateTimeOffset now)
    {
        if (_retryAt <= now)
        {
            _retryAt = null;
            Run();
        }
        else if (!S.Completed && S.DispatchedChunks == Chunks.Count && now - partition.LastHeard >= reconciliation.After && _running is not { IsCompleted: false })
            RunReconciling();
    }

    private async Task Dispatch()
    {
        try
        {
            while (!S.Cancelled && S.DispatchedChunks < Chunks.Count)
            {
                // Several chunks a step: each step costs round trips (rows, registry, store, its own state) whatever its size.
                var first = S.DispatchedChunks;
                var end = Math.Min(Chunks.Count, first + Math.Max(1, partition.Options.ChunksPerDispatch));
                var taken = await Task.WhenAll(Chunks.Skip(first).Take(end - first).Where(c => c.Rows > 0)
                    .Select(c => partition.Grains.GetGrain<IBatchChunkGrain>(BatchChunkGrain.KeyOf(partition.BatchId, c.Chunk)).TakeRows()));
                var rows = taken.SelectMany(c => c).ToList();
                if (rows.Count > 0)
                {
                    var (letters, known) = await dispatch.Make(rows);
                    // Cancelled while it made them: they are cancelled below, not sent.
                    if (!S.Cancelled) await dispatch.Send(letters, known);
                }
                S.DispatchedChunks = end;
                await writer.SaveAsync();
            }
            // Letters made after the cancel, or left pending by an activation that died before it stored their cancel.
            if (S.Cancelled) await StoreCancelled(partition.Ledger.CancelUnsent());
            // Letters put back by "retry failed", left pending by an interrupted dispatch (whose message may exist:
            // submitting it again is idempotent), or pushed in bulk by an activation that is gone (whether their push
            // went out is unknown: receivers take a repeat by its id).
            var pending = partition.Ledger.Letters.Values
                .Where(l => l.State == LetterState.Pending || l.BulkSystem is not null && l.State == LetterState.Queued && !bulk.Awaits(l.Key))
                .ToList();
            if (pending.Count > 0)
            {
                var rows = new Dictionary<int, BatchRow>();
                foreach (var row in pending.Select(l => l.Row).Distinct())
                    if (await partition.FindRow(row) is { } found) rows[row] = found;
                await dispatch.Send([.. pending.Where(l => rows.ContainsKey(l.Row)).Select(l => (rows[l.Row], l))]);
            }
            await bulk.PushWaiting();
            if (_reconcile)
            {
                _reconcile = false;
                await reconciliation.Run();
            }
            await CheckCompleted();
        }
        catch (Exception e)
        {
            // Every step is idempotent: this activation tries again shortly, and the safety-net wake-up brings a new
            // one if this one is gone.
            _retryAt = partition.Time.GetUtcNow() + DispatchRetry;
            partition.Log.LogWarning(e, "Dispatch of partition {Partition} of batch {BatchId} was interrupted; it resumes in {Retry}", partition.Partition, partition.BatchId, DispatchRetry);
        }
    }

    /// <summary>The conditional write in the letter store, and the letters this activation made but never stored.</summary>
    public async Task StoreCancelled(IReadOnlyList<LetterRecord> cancelled)
    {
        if (cancelled.Count == 0) return;
        await store.Cancel(partition.BatchId, [.. Chunks.Where(c => c.Rows > 0).Select(c => (c.FirstRow, c.LastRow))]);
        var now = partition.Time.GetUtcNow();
        foreach (var letter in cancelled)
        {
            partition.Saver.Changed(letter.Key);
            partition.Events.Webhook(new LetterStatusChanged(partition.RefOf(letter), Guid.Empty, LetterState.Cancelled, now, letter.ErrorCode, letter.ErrorText));
        }
        await partition.Saver.Save();
    }

    /// <summary>Complete once every chunk is dispatched and every letter final, with nothing left to store, archive or
    /// tell the webhook. Checked per flush, not per change: it reads every letter.</summary>
    public async Task CheckCompleted()
    {
        if (S.Completed || !S.Started || !S.Cancelled && S.DispatchedChunks < Chunks.Count || partition.Events.Pending || partition.Saver.HasChanges) return;
        if (partition.Ledger.Letters.Values.Any(l => !l.State.IsFinal())) return;
        S.Completed = true;
        await writer.SaveAsync();
        partition.Log.LogInformation("Partition {Partition} of batch {BatchId} completed: {Letters} letters", partition.Partition, partition.BatchId, partition.Ledger.Letters.Count);
        await reportCompleted();
    }
}
