using DigitalPost.Contracts;
using DigitalPost.Domain;
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
/// not reported (a repeat changes nothing), and each partition resumes from its own state and the letter store.</para></summary>
[Reentrant]
public sealed class MergeBatchGrain(
    [PersistentState("batch", StorageNames.Platform)] IPersistentState<MergeBatchState> state,
    TimeProvider time, WakeUps wakeUps, LetterRendering rendering, ILetterStore store, IRecipientRegistryStore registry, IOptions<MassSendingOptions> options,
    ILogger<MergeBatchGrain> log) : Grain, IMergeBatchGrain
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromMinutes(1);
    private readonly CoalescingWriter _writer = new(state.WriteStateAsync);
    /// <summary>The chunks with rows, by first row: finds a row's chunk, and so its partition.</summary>
    private PartitionChunk[]? _byRow;

    private MergeBatchState S => state.State;
    private Guid BatchId => this.GetPrimaryKey();
    private BatchHeader Header => S.Header!;

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
                BatchId, Header.SenderId, AcceptedRows, RejectedRows, S.Partitions);
            // Stored before the partitions start: a crash in between leaves the wake-up to start them.
            await wakeUps.Schedule(this.GetGrainId(), Due ? S.AcceptedAt + SafetyNet : Header.Options.SendAt!.Value);
            if (S.Partitions == 0 && Due) await Complete();
            // Started off this call: the upload's answer does not wait for the partitions to activate, and nothing can
            // have been sent yet. Should starting fail, the wake-up starts them.
            else if (S.Partitions > 0 && Due) _ = StartInBackground();
            return View(BatchTally.Unsent(AcceptedRows));
        }
        return await Status();
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
        else await Task.WhenAll(Enumerable.Range(0, S.Partitions).Where(p => !S.Completed.ContainsKey(p)).Select(p => Partition(p).Start()));
    }

    public Task<BatchPartitionPlan?> GetPlan(int partition) => Task.FromResult(!S.Sealed || partition >= S.Partitions ? null
        : new BatchPartitionPlan(Header, S.AcceptedAt, S.Partitions, [.. Enumerable.Range(0, S.ChunkCount)
            .Where(c => BatchPartitions.OfChunk(c, S.Partitions) == partition)
            .Select(c => S.Chunks.TryGetValue(c, out var info) ? new PartitionChunk(c, info.Rows, info.FirstRow, info.LastRow) : new PartitionChunk(c, 0, 0, 0))]));

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

    public async Task<BatchStatusView?> GetStatus() => S.Sealed ? await Status() : null;

    public async Task<IReadOnlyList<LetterView>> GetLetters(bool errorsOnly, int skip, int take)
    {
        // The partitions store what they heard since their last flush first: the letter store then answers for all.
        if (S.Sealed && Due) await Task.WhenAll(Incomplete.Select(p => Partition(p).SaveLetters()));
        return await store.Page(BatchId, errorsOnly, skip, take);
    }

    public Task<IReadOnlyList<RowIssue>> GetIssues(int skip, int take) =>
        Task.FromResult<IReadOnlyList<RowIssue>>([.. AllIssues().Skip(skip).Take(take)]);

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
        return new BatchCancelled(0, AllFinal: S.CompletedAt is not null || (await Status()).Progress >= 1);
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

    public async Task<LetterPreview?> Preview(int row, bool renderPdf = true)
    {
        if (S.Header is null || ChunkOf(row) is not { } chunk) return null;
        var found = (await GrainFactory.GetGrain<IBatchChunkGrain>(BatchChunkGrain.KeyOf(BatchId, chunk.Chunk)).GetRows()).FirstOrDefault(r => r.Row == row);
        if (found is null) return null;
        var header = Header;
        IReadOnlyList<AttachmentInfo> attachments = [.. LetterFactory.Attachments(header, found).Select(a => new AttachmentInfo(a.Filename, a.ContentType, a.Content.LongLength))];
        if (!renderPdf) return new LetterPreview(row, [], attachments, found.Fields);
        var recipient = (await registry.Lookup([PartitionContext.Query(found, found.Kind, found.RecipientId)]))[0];
        var pdf = await Task.Run(() => rendering.Render(header, found, recipient));
        return new LetterPreview(row, pdf, attachments, found.Fields);
    }

    // A letter's caller that knows only its row (the print provider, a letter stored before partitions) is passed on to
    // the partition owning the row's chunk. Receipts reach their partitions directly.
    public Task BulkDelivered(IReadOnlyList<BulkLetter> letters, DateTimeOffset at) =>
        Task.WhenAll(ByPartition(letters).Select(g => Partition(g.Key).BulkDelivered([.. g], at)));

    public async Task<MessageStatusView?> BulkView(Guid messageUuid, int row, int copy) =>
        PartitionOf(row) is { } p ? await Partition(p).BulkView(messageUuid, row, copy) : null;

    /// <summary>The recipient is the bulk lane's record of the letter; a letter its message grain owns is not there,
    /// and that grain puts in the recipient it knows.</summary>
    public async Task<ReplyTerms?> ReplyTerms(Guid messageUuid, int row, int copy)
    {
        if (S.Header is null) return null;
        var recipient = (await BulkView(messageUuid, row, copy))?.RecipientId ?? "";
        return new ReplyTerms(messageUuid, Header.SenderCvr, recipient, recipient.Length == 8 ? RecipientIdType.Cvr : RecipientIdType.Cpr,
            Header.Options.ReplyAllowed, null, Header.Options.Label, Header.SenderId, new BatchRef(BatchId, row, copy));
    }

    public async Task BulkFailed(BulkLetter letter, BusinessReceipt receipt)
    {
        if (PartitionOf(letter.Row) is { } p) await Partition(p).BulkFailed(letter, receipt);
    }

    public Task PrintProgressed(IReadOnlyList<BulkLetter> letters, LetterState state, DateTimeOffset at) =>
        Task.WhenAll(ByPartition(letters).Select(g => Partition(g.Key).PrintProgressed([.. g], state, at)));

    private IEnumerable<IGrouping<int, BulkLetter>> ByPartition(IReadOnlyList<BulkLetter> letters) =>
        letters.Where(l => PartitionOf(l.Row) is not null).GroupBy(l => PartitionOf(l.Row)!.Value);

    private int? PartitionOf(int row) => ChunkOf(row) is { } chunk && S.Partitions > 0 ? BatchPartitions.OfChunk(chunk.Chunk, S.Partitions) : null;

    private PartitionChunk? ChunkOf(int row)
    {
        // Fixed once the batch is sealed: kept for the activation.
        var chunks = S.Sealed ? _byRow ??= ChunksByRow() : ChunksByRow();
        var (low, high) = (0, chunks.Length - 1);
        while (low <= high)
        {
            var mid = (low + high) / 2;
            if (row < chunks[mid].FirstRow) high = mid - 1;
            else if (row > chunks[mid].LastRow) low = mid + 1;
            else return chunks[mid];
        }
        return null;
    }

    private PartitionChunk[] ChunksByRow() =>
        [.. S.Chunks.Where(c => c.Value.Rows > 0).OrderBy(c => c.Value.FirstRow).Select(c => new PartitionChunk(c.Key, c.Value.Rows, c.Value.FirstRow, c.Value.LastRow))];

    private IBatchPartitionGrain Partition(int partition) => GrainFactory.GetGrain<IBatchPartitionGrain>(BatchPartitions.KeyOf(BatchId, partition));

    private IEnumerable<int> Incomplete => Enumerable.Range(0, S.Partitions).Where(p => !S.Completed.ContainsKey(p));

    private int AcceptedRows => S.Chunks.Values.Sum(c => c.Rows);
    private int RejectedRows => AllIssues().Where(i => i.Severity == IssueSeverity.Error).Select(i => i.Row).Distinct().Count();
    private IEnumerable<RowIssue> AllIssues() => S.Chunks.OrderBy(c => c.Key).SelectMany(c => c.Value.Issues);

    /// <summary>The sum of the partitions' tallies: a completed partition's as it reported it, the others' asked now.
    /// Before the send time no partition has started, and every accepted row is one pending letter.</summary>
    private async Task<BatchStatusView> Status()
    {
        var tally = !Due ? BatchTally.Unsent(AcceptedRows)
            : BatchTally.Sum(await Task.WhenAll(Enumerable.Range(0, S.Partitions)
                .Select(p => S.Completed.TryGetValue(p, out var done) ? Task.FromResult(done) : Partition(p).GetTally())));
        return View(tally);
    }

    public Task<int> EraseRecipient(string recipientId) => BatchGrainStates.EraseRecipient(GrainFactory, BatchId, [.. S.Chunks.Keys], recipientId);

    public async Task<bool> Forget()
    {
        await BatchGrainStates.ForgetParts(GrainFactory, BatchId, [.. S.Chunks.Keys], S.Partitions);
        return await StateForgetting.Forget(state, this);
    }

    private BatchStatusView View(PartitionTally tally)
    {
        var counts = tally.Counts with { Accepted = AcceptedRows, RejectedRows = RejectedRows };
        var phase = S.CompletedAt is not null ? BatchPhase.Completed : !Due ? BatchPhase.Scheduled : BatchPhase.Sending;
        return new BatchStatusView(BatchId, Header.SenderBatchId, Header.SenderId, Header.Options.Label, phase, counts,
            tally.Letters == 0 ? 1 : (double)tally.Final / tally.Letters, S.AcceptedAt, Header.Options.SendAt, S.CompletedAt,
            counts.Pending, tally.ArchiveQueue, AllIssues().Count(i => i.Severity == IssueSeverity.Warning));
    }
}
