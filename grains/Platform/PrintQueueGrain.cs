using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

[GenerateSerializer, Alias("dp.PrintQueueState")]
public sealed class PrintQueueState
{
    // Id 0 held the jobs; they live in the print store now.
    [Id(1)] public int HandedOver { get; set; }
    [Id(2)] public long DocumentBytesSent { get; set; }
}

/// <summary>The simulated remote-print provider: jobs are printed after <see cref="PrintOptions.PrintAfter"/> and
/// handed to the postal service after <see cref="PrintOptions.HandOverAfter"/>, on the platform's clock. The jobs are
/// in the print store; a batch's letters move in their letter rows first, then their batch is told, then the job moves.
/// A crash anywhere repeats the wake-up, and each step ignores what it did before. A job's stored documents are
/// streamed from the document store as it is printed, as they would be uploaded to a real provider.</summary>
[Reentrant]
public sealed class PrintQueueGrain(
    [PersistentState("print", StorageNames.Platform)] IPersistentState<PrintQueueState> state,
    IPrintStore jobs, ILetterStore letters, IDocumentStore documents, TimeProvider time, WakeUps wakeUps, IOptions<PrintOptions> options) : Grain, IPrintQueueGrain
{
    /// <summary>Jobs taken a wake-up: a million-letter batch's print lane moves in steps of this many.</summary>
    private const int Step = 20_000;
    private static readonly TimeSpan Pause = TimeSpan.FromSeconds(5);

    private readonly CoalescingWriter _writer = new(state.WriteStateAsync);
    private Task _waking = Task.CompletedTask;

    public async Task Enqueue(PrintJob job)
    {
        var due = time.GetUtcNow() + options.Value.PrintAfter;
        await jobs.Enqueue([new QueuedPrint(job, MessageStatus.SentToPrint, due)]);
        await wakeUps.Schedule(this.GetGrainId(), due);
    }

    public Task Queued(DateTimeOffset due) => wakeUps.Schedule(this.GetGrainId(), due);

    /// <summary>One wake-up at a time: concurrent ones would tell the same letters twice.</summary>
    public Task WakeUp() => _waking = WakeUpAfter(_waking);

    private async Task WakeUpAfter(Task previous)
    {
        try { await previous; }
        catch { /* that wake-up failed for its caller, who tries it again */ }
        var now = time.GetUtcNow();
        int taken, moved;
        do
        {
            var due = await jobs.Due(now, Step);
            var printed = await Tell([.. due.Where(j => j.Status == MessageStatus.SentToPrint).Select(j => j.Job)], MessageStatus.Printed, now);
            var handedOver = await Tell([.. due.Where(j => j.Status == MessageStatus.Printed).Select(j => j.Job)], MessageStatus.HandedToPostalService, now);
            var printing = printed.ToHashSet();
            foreach (var job in due.Where(j => j.Status == MessageStatus.SentToPrint && printing.Contains(j.Job.MessageUuid)))
                state.State.DocumentBytesSent += await SendToProvider(job.Job);
            await jobs.Advance(printed, now + options.Value.HandOverAfter, handedOver);
            state.State.HandedOver += handedOver.Count;
            if (handedOver.Count > 0) await _writer.SaveAsync();
            (taken, moved) = (due.Count, printed.Count + handedOver.Count);
        } while (taken == Step && moved > 0);
        // A job whose letter its batch has not stored yet waits a little; the rest when they are due.
        if ((await jobs.Counts()).NextAt is { } next) await wakeUps.Schedule(this.GetGrainId(), next > now ? next : now + Pause);
    }

    /// <summary>A batch's letters move in their rows (only from an earlier step) and their batch hears of it; a message
    /// grain's job tells its message grain. Both ignore repeats. Returns the jobs that may move on: not those whose
    /// letter has no row in the print lane yet.</summary>
    private async Task<IReadOnlyList<Guid>> Tell(IReadOnlyList<PrintJob> done, MessageStatus status, DateTimeOffset now)
    {
        var step = status.ToLetterState();
        var ofBatches = done.Where(j => j.Letter is not null).ToList();
        var there = ofBatches.Count > 0 ? await letters.Progress([.. ofBatches.Select(j => j.MessageUuid)], step, now) : new HashSet<Guid>();
        await Task.WhenAll(ofBatches.Where(j => there.Contains(j.MessageUuid)).GroupBy(j => j.Letter!.BatchId).Select(batch => GrainFactory.GetGrain<IMergeBatchGrain>(batch.Key)
            .PrintProgressed([.. batch.Select(j => new BulkLetter(batch.Key, j.Letter!.Row, j.Letter.Copy, j.MessageUuid, null, Lane: LetterLane.Print))], step, now)));
        var ofMessages = done.Where(j => j.Letter is null).ToList();
        await Task.WhenAll(ofMessages.Select(j => GrainFactory.GetGrain<IMessageGrain>(j.MessageUuid).PrintProgressed(status)));
        return [.. ofMessages.Select(j => j.MessageUuid), .. there];
    }

    public async Task<PrintQueueStatus> GetStatus()
    {
        var (waiting, printed, _) = await jobs.Counts();
        return new PrintQueueStatus(waiting, printed, state.State.HandedOver, state.State.DocumentBytesSent);
    }

    /// <summary>The simulated provider takes a job's stored documents as streams, as an upload to a real one would.</summary>
    private async Task<long> SendToProvider(PrintJob job)
    {
        long sent = 0;
        foreach (var key in job.StoredFiles ?? [])
        {
            await using var document = await documents.Open(key)
                ?? throw new InvalidOperationException($"Document {key.PartName()} of message {key.MessageUuid} is not in the document store.");
            sent += await DocumentStreams.ReadToEnd(document, hash: null, CancellationToken.None);
        }
        return sent;
    }
}
