using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

[GenerateSerializer, Immutable, Alias("dp.QueuedPrint")]
public sealed record QueuedPrint([property: Id(0)] PrintJob Job, [property: Id(1)] MessageStatus Status, [property: Id(2)] DateTimeOffset NextAt);

[GenerateSerializer, Alias("dp.PrintQueueState"), SnapshotOnWrite]
public sealed class PrintQueueState
{
    [Id(0)] public Dictionary<Guid, QueuedPrint> Jobs { get; set; } = [];
    [Id(1)] public int HandedOver { get; set; }
    [Id(2)] public long DocumentBytesSent { get; set; }
}

/// <summary>The simulated remote-print provider: jobs are printed after <see cref="PrintOptions.PrintAfter"/> and
/// handed to the postal service after <see cref="PrintOptions.HandOverAfter"/>, on the platform's clock. Each
/// step is stored before the message is told, and told again after a crash: messages ignore repeats. A job's stored
/// documents are streamed from the document store as it is printed, as they would be uploaded to a real provider.</summary>
[Reentrant]
public sealed class PrintQueueGrain(
    [PersistentState("print", StorageNames.Platform)] IPersistentState<PrintQueueState> state,
    TimeProvider time, WakeUps wakeUps, IDocumentStore documents, IOptions<PrintOptions> options) : Grain, IPrintQueueGrain
{
    private readonly CoalescingWriter _writer = new(state.WriteStateAsync);
    private PrintQueueState S => state.State;

    public async Task Enqueue(PrintJob job)
    {
        if (S.Jobs.ContainsKey(job.MessageUuid)) return;
        var due = time.GetUtcNow() + options.Value.PrintAfter;
        S.Jobs[job.MessageUuid] = new QueuedPrint(job, MessageStatus.SentToPrint, due);
        await _writer.SaveAsync();
        await wakeUps.Schedule(this.GetGrainId(), due);
    }

    public async Task WakeUp()
    {
        var now = time.GetUtcNow();
        var due = S.Jobs.Values.Where(j => j.NextAt <= now).ToList();
        foreach (var job in due)
        {
            if (job.Status == MessageStatus.SentToPrint)
                S.Jobs[job.Job.MessageUuid] = job with { Status = MessageStatus.Printed, NextAt = now + options.Value.HandOverAfter };
            else
            {
                S.Jobs.Remove(job.Job.MessageUuid);
                S.HandedOver++;
            }
        }
        // Sent after every due job is marked: a wake-up interleaving meanwhile (the grain is reentrant) finds them printed.
        foreach (var job in due.Where(j => j.Status == MessageStatus.SentToPrint)) S.DocumentBytesSent += await SendToProvider(job.Job);
        if (due.Count > 0) await _writer.SaveAsync();
        await Task.WhenAll(due.Select(j => GrainFactory.GetGrain<IMessageGrain>(j.Job.MessageUuid)
            .PrintProgressed(j.Status == MessageStatus.SentToPrint ? MessageStatus.Printed : MessageStatus.HandedToPostalService)));
        if (S.Jobs.Count > 0) await wakeUps.Schedule(this.GetGrainId(), S.Jobs.Values.Min(j => j.NextAt));
    }

    public Task<PrintQueueStatus> GetStatus() => Task.FromResult(new PrintQueueStatus(
        S.Jobs.Values.Count(j => j.Status == MessageStatus.SentToPrint), S.Jobs.Values.Count(j => j.Status == MessageStatus.Printed), S.HandedOver,
        S.DocumentBytesSent));

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
