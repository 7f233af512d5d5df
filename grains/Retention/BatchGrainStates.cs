using DigitalPost.Contracts;
using DigitalPost.Grains;

namespace DigitalPost.Retention;

/// <summary>The grains a merge batch keeps state in besides its own: its chunks (the CSV's rows, with CPR numbers and
/// merge fields) and its partitions. A batch has tens of them, so a call each is cheap.</summary>
public static class BatchGrainStates
{
    public static async Task<int> EraseRecipient(IGrainFactory grains, Guid batchId, IEnumerable<int> chunks, string recipientId) =>
        (await Task.WhenAll(chunks.Select(c => grains.GetGrain<IBatchChunkGrain>(BatchChunkGrain.KeyOf(batchId, c)).EraseRecipient(recipientId)))).Sum();

    public static Task ForgetParts(IGrainFactory grains, Guid batchId, IEnumerable<int> chunks, int partitions) =>
        Task.WhenAll(chunks.Select(c => grains.GetGrain<IBatchChunkGrain>(BatchChunkGrain.KeyOf(batchId, c)).Forget())
            .Concat(Enumerable.Range(0, partitions).Select(p => grains.GetGrain<IBatchPartitionGrain>(BatchPartitions.KeyOf(batchId, p)).Forget())));
}
