using DigitalPost.Contracts;

namespace DigitalPost.Infrastructure;

/// <summary>Business receipts for letters of the bulk lane. A positive receipt is stored straight in the letter store
/// (coalesced with concurrent receipts into one statement), then counted by its batch and its receiver system, so a
/// clean delivery activates no message grain. A negative one goes to the letter's batch, whose message grain takes
/// the letter over. Receipts for any other message go to its message grain. A letter's row names the partition of its
/// batch that owns it: receipts go there directly, not through the batch.</summary>
public sealed class BulkReceipts(ILetterStore store, IGrainFactory grains, TimeProvider time)
{
    public async Task<IReadOnlyList<ReceiptOutcome>> Apply(IReadOnlyList<BusinessReceipt> receipts)
    {
        var delivered = await Deliver([.. receipts.Where(r => r.Positive).Select(r => r.MessageUuid)]);
        return await Task.WhenAll(receipts.Select(async r => delivered.Contains(r.MessageUuid) ? ReceiptOutcome.Applied
            : await ForBulkLetter(r) ?? await ForMessage(r)));
    }

    /// <summary>A message grain without state answers unknown, and the bulk lane is asked once more: its partition may
    /// have stored the letter since the first look. Asked here, never by the grain: the lane may give the letter to that
    /// very grain, which would wait on itself.</summary>
    private async Task<ReceiptOutcome> ForMessage(BusinessReceipt receipt)
    {
        var outcome = await grains.GetGrain<IMessageGrain>(receipt.MessageUuid).ReceiveReceipt(receipt);
        return outcome == ReceiptOutcome.UnknownMessage ? await ForBulkLetter(receipt) ?? outcome : outcome;
    }

    /// <summary>Applies a receipt of a letter in the bulk lane; null when the message is not (or no longer) there.</summary>
    public async Task<ReceiptOutcome?> ForBulkLetter(BusinessReceipt receipt)
    {
        if (await store.Find(receipt.MessageUuid) is not { ReceiverSystemKey: not null } letter) return null;
        if (letter.Delivered)
        {
            // An earlier receipt finished it; this one answers a repeated push (the batch's activation died before it
            // heard of that receipt, and pushed again). The letter stays delivered, and its batch hears of it now.
            await PartitionOf(letter).BulkDelivered([letter], time.GetUtcNow());
            return ReceiptOutcome.Duplicate;
        }
        if (!receipt.Positive)
        {
            await PartitionOf(letter).BulkFailed(letter, receipt);
            return ReceiptOutcome.Applied;
        }
        // A positive receipt that changes nothing is a repeat: the letter is delivered already.
        return (await Deliver([receipt.MessageUuid])).Count > 0 ? ReceiptOutcome.Applied : ReceiptOutcome.Duplicate;
    }

    private async Task<HashSet<Guid>> Deliver(IReadOnlyList<Guid> messageUuids)
    {
        var delivered = await store.Deliver(messageUuids);
        var now = time.GetUtcNow();
        await Task.WhenAll(
            delivered.GroupBy(d => (d.BatchId, d.Partition)).Select(g => PartitionOf(g.First()).BulkDelivered([.. g], now))
                .Concat(delivered.GroupBy(d => d.ReceiverSystemKey!).Select(g => grains.GetGrain<IReceiverSystemGrain>(g.Key).RecordPositives(g.Count(), now))));
        return [.. delivered.Select(d => d.MessageUuid)];
    }

    private IBatchPartitionGrain PartitionOf(BulkLetter letter) =>
        grains.GetGrain<IBatchPartitionGrain>(BatchPartitions.KeyOf(letter.BatchId, letter.Partition));
}
