using DigitalPost.Contracts;

namespace DigitalPost.Silo;

/// <summary>Which tenant a resource belongs to, where the route alone does not say it. The roles are checked by the
/// endpoints' policies (see <c>Auth/Policies.cs</c>); these checks only say whose a message or a receipt's letter is.</summary>
public static class Tenancy
{
    /// <summary>Whether <paramref name="sender"/> may read the message: a letter of one of its own batches, or a message
    /// its authority (its CVR) sent.</summary>
    public static async Task<bool> IsSentBy(this IGrainFactory grains, Guid messageUuid, AuthenticatedSender sender)
    {
        if (await grains.GetGrain<ILettersGrain>(0).Find(messageUuid) is { } letter)
            return (await grains.GetGrain<IMergeBatchGrain>(letter.BatchId).GetStatus())?.SenderId == sender.Id;
        return await grains.GetGrain<IMessageGrain>(messageUuid).GetStatus() is { } status && status.SenderId == sender.Cvr;
    }

    /// <summary>The receipts whose messages exist but were never pushed to the receiver system <paramref name="systemKey"/>
    /// (<c>cvr/systemId</c>). A batch's letters are looked up in one call; a message of its own grain by its attempts.
    /// A message put in a pull system's queue counts as pushed to it: that is its attempt there, or its letter's system.
    /// Receipts of unknown messages are left to be answered as unknown.</summary>
    public static async Task<IReadOnlySet<Guid>> NotPushedTo(this IGrainFactory grains, string systemKey, IReadOnlyList<BusinessReceipt> receipts)
    {
        var uuids = receipts.Select(r => r.MessageUuid).Distinct().ToList();
        var inBulk = (await grains.GetGrain<ILettersGrain>(0).FindAll(uuids)).Where(l => l.ReceiverSystemKey == systemKey).Select(l => l.MessageUuid).ToHashSet();
        var (cvr, systemId) = ReceiverSystemKey.Parse(systemKey);
        var others = await Task.WhenAll(uuids.Where(u => !inBulk.Contains(u)).Select(async uuid => (uuid, status: await grains.GetGrain<IMessageGrain>(uuid).GetStatus())));
        return others.Where(o => o.status is { } status && !(status.RecipientId == cvr && status.Attempts.Any(a => a.ReceiverSystemId == systemId)))
            .Select(o => o.uuid).ToHashSet();
    }
}
