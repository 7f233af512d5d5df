using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using DigitalPost.Retention;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

/// <summary>A merge batch: the coordinator of its partitions. It takes the rows in chunks (stored in chunk grains),
/// seals the batch, and at its send time starts its partitions (<see cref="BatchPartitionGrain"/>), which are placed
/// round the silos; each sends its own chunks' letters and reports when they are all final. The batch's counts are
/// the sum of the partitions' tallies; its letters are listed from the letter store. It keeps no record per letter.
/// <para>A crash is survived by its durable wake-up: every minute until it completes it starts the partitions that have
/// not reported (a repeat changes nothing), and each partition resumes from its own state and the letter store.</para>
/// <para>Its status (<see cref="BatchStatus"/>), its chunks' owners (<see cref="ChunkOwners"/>) and previews are plain classes.</para></summary>
[Reentrant]
public sealed class MergeBatchGrain(
    [PersistentState("batch", StorageNames.Platform)] IPersistentState<MergeBatchState> state,
    TimeProvider time, WakeUps wakeUps, LetterRendering rendering, ILetterStore store, IRecipientRegistryStore registry, IOptions<MassSendingOptions> options,
    ILogger<MergeBatchGrain> log) : Grain, IMergeBatchGrain
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromMinutes(1);
    private readonly CoalescingWriter _writer = new(state.WriteStateAsync);
    private readonly BatchPreview _preview = new(rendering, registry);
    private ChunkOwners? _owners;
    private BatchStatus? _status;

    private MergeBatchState S => state.State;
    private Guid BatchId => this.GetPrimaryKey();
    private BatchHeader Header => S.Header!;
    private ChunkOwners Owners => _owners ??= new(() => S, Partition);
    private BatchStatus Status => _status ??= new(BatchId, () => S, () => Due, Partition);

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
        await Chunk(chunk).Store(rows);
        S.Chunks[chunk] = new ChunkInfo(rows.Count, rows.Count > 0 ? rows[0].Row : 0, rows.Count > 0 ? rows[^1].Row : 0, issues);
        await _writer.SaveAsync();
    }

    public async Task<BatchStatusView> Seal(int chunks)
    {
        if (S.Header is null) throw new InvalidOperationException("The batch has not begun.");
        if (!S.Sealed)
        {
            (S.ChunkCount, S.Partitions, S.Sealed, S.AcceptedAt) = (chunks, BatchPartitions.Count(options.Value.Partitions, chunks, options.Value.ChunksPerPartition), true, time.GetUtcNow());
            await _writer.SaveAsync();
            log.LogInformation("Batch {BatchId} of sender {SenderId} accepted: {Rows} rows, {Rejected} rejected, {Partitions} partitions",
                BatchId, Header.SenderId, Status.AcceptedRows, Status.RejectedRows, S.Partitions);
            // Stored before the partitions start: a crash in between leaves the wake-up to start them.
            await wakeUps.Schedule(this.GetGrainId(), Due ? S.AcceptedAt + SafetyNet : Header.Options.SendAt!.Value);
            if (S.Partitions == 0 && Due) await Complete();
            // Started off this call: the upload's answer does not wait for the partitions to activate, and nothing can
            // have been sent yet. Should starting fail, the wake-up starts them.
            else if (S.Partitions > 0 && Due) _ = StartInBackground();
            return Status.View(BatchTally.Unsent(Status.AcceptedRows));
        }
        return await Status.Now();
    }

    private async Task StartInBackground()
    {
        try { await StartPartitions(); }
        catch (Exception e) { log.LogWarning(e, "Batch {BatchId}: its partitions did not all start; its wake-up starts them", BatchId); }
    }

    /// <summary>At the send time, and every minute after until the batch completes: starts the partitions that have not
    /// reported completion.</summary>
    public async Task WakeUp()
    {
        if (!S.Sealed || S.CompletedAt is not null || !Due) return;
        await wakeUps.Schedule(this.GetGrainId(), time.GetUtcNow() + SafetyNet);
        await StartPartitions();
    }

    /// <summary>Its send time has come, or it was cancelled: its partitions then have its counts either way.</summary>
    private bool Due => S.Cancelled || Header.Options.SendAt is not { } sendAt || sendAt <= time.GetUtcNow();

    private async Task StartPartitions()
    {
        if (S.Partitions == 0 && S.ChunkCount > 0)
        {
            // Sealed before batches had partitions: given them now. They find the letters made so far by their rows.
            S.Partitions = BatchPartitions.Count(options.Value.Partitions, S.ChunkCount, options.Value.ChunksPerPartition);
            await _writer.SaveAsync();
        }
        if (S.Partitions == 0) await Complete();
        else await Task.WhenAll(Incomplete.Select(p => Partition(p).Start()));
    }

    public Task<BatchPartitionPlan?> GetPlan(int partition) => Task.FromResult(!S.Sealed || partition >= S.Partitions ? null
        : new BatchPartitionPlan(Header, S.AcceptedAt, S.Partitions, Owners.ChunksOf(partition)));

    public async Task PartitionCompleted(int partition, PartitionTally tally)
    {
        if (!S.Sealed || partition >= S.Partitions) return;
        S.Completed[partition] = tally;
        if (S.Completed.Count == S.Partitions) await Complete();
        else await _writer.SaveAsync();
    }

    private async Task Complete()
    {
        if (S.CompletedAt is null)
        {
            S.CompletedAt = time.GetUtcNow();
            log.LogInformation("Batch {BatchId} completed: {Letters} letters", BatchId, BatchTally.Sum(S.Completed.Values).Letters);
        }
        await _writer.SaveAsync();
    }

    public async Task<BatchStatusView?> GetStatus() => S.Sealed ? await Status.Now() : null;

    public async Task<IReadOnlyList<LetterView>> GetLetters(bool errorsOnly, int skip, int take)
    {
        // The partitions store what they heard since their last flush first: the letter store then answers for all.
        if (S.Sealed && Due) await Task.WhenAll(Incomplete.Select(p => Partition(p).SaveLetters()));
        return await store.Page(BatchId, errorsOnly, skip, take);
    }

    public Task<IReadOnlyList<RowIssue>> GetIssues(int skip, int take) => Task.FromResult<IReadOnlyList<RowIssue>>([.. Status.Issues().Skip(skip).Take(take)]);

    public async Task<BatchCancelled?> Cancel()
    {
        if (!S.Sealed) return null;
        if (S.CompletedAt is not null) return new BatchCancelled(0, AllFinal: true);
        if (!S.Cancelled)
        {
            S.Cancelled = true;
            await _writer.SaveAsync();
            // Its partitions complete now rather than at the send time; the wake-up sees to it should one not answer.
            await wakeUps.Schedule(this.GetGrainId(), time.GetUtcNow() + SafetyNet);
        }
        var cancelled = (await Task.WhenAll(Incomplete.Select(p => Partition(p).Cancel()))).Sum();
        if (S.Partitions == 0) await Complete();
        log.LogInformation("Batch {BatchId} cancelled by its sender: {Count} letters not yet sent were stopped", BatchId, cancelled);
        if (cancelled > 0) return new BatchCancelled(cancelled, AllFinal: false);
        // Nothing was left to stop: either letters are still under way (sent, not final), or every letter is final.
        return new BatchCancelled(0, AllFinal: S.CompletedAt is not null || (await Status.Now()).Progress >= 1);
    }

    public async Task<int> RetryFailed()
    {
        if (!S.Sealed || !Due || S.Cancelled) return 0;
        var retried = await Task.WhenAll(Enumerable.Range(0, S.Partitions).Select(async p => (Partition: p, Count: await Partition(p).RetryFailed())));
        var total = retried.Sum(r => r.Count);
        if (total == 0) return 0;
        foreach (var (partition, _) in retried.Where(r => r.Count > 0)) S.Completed.Remove(partition);
        S.CompletedAt = null;
        await _writer.SaveAsync();
        await wakeUps.Schedule(this.GetGrainId(), time.GetUtcNow() + SafetyNet);
        log.LogInformation("Batch {BatchId}: {Count} failed letters sent again", BatchId, total);
        return total;
    }

    public async Task<LetterPreview?> Preview(int row, bool renderPdf = true) =>
        S.Header is not null && Owners.ChunkOf(row) is { } chunk ? await _preview.Of(Header, Chunk(chunk.Chunk), row, renderPdf) : null;

    /// <summary>The recipient is the bulk lane's record of the letter; a letter its message grain owns is not there,
    /// and that grain puts in the recipient it knows.</summary>
    public async Task<ReplyTerms?> ReplyTerms(Guid messageUuid, int row, int copy)
    {
        if (S.Header is null) return null;
        var recipient = (await Owners.BulkView(messageUuid, row, copy))?.RecipientId ?? "";
        return LetterFactory.ReplyTerms(Header, messageUuid, new BatchRef(BatchId, row, copy), recipient);
    }

    // Calls about one letter from callers that know only its row: passed on to the partition owning the row.
    public Task PrintProgressed(IReadOnlyList<BulkLetter> letters, LetterState state, DateTimeOffset at) => Owners.PrintProgressed(letters, state, at);

    private IBatchPartitionGrain Partition(int partition) => GrainFactory.GetGrain<IBatchPartitionGrain>(BatchPartitions.KeyOf(BatchId, partition));
    private IBatchChunkGrain Chunk(int chunk) => GrainFactory.GetGrain<IBatchChunkGrain>(BatchChunkGrain.KeyOf(BatchId, chunk));
    private IEnumerable<int> Incomplete => Enumerable.Range(0, S.Partitions).Where(p => !S.Completed.ContainsKey(p));

    public Task<int> EraseRecipient(string recipientId) => BatchGrainStates.EraseRecipient(GrainFactory, BatchId, [.. S.Chunks.Keys], recipientId);

    public async Task<bool> Forget()
    {
        await BatchGrainStates.ForgetParts(GrainFactory, BatchId, [.. S.Chunks.Keys], S.Partitions);
        return await StateForgetting.Forget(state, this);
    }
}
