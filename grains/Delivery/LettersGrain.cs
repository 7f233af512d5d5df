using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

/// <summary>The entry to the letter store for callers outside the silo (the HTTP API, other services): receipts are
/// applied on the silo that takes them, and concurrent calls share the store's group commit.</summary>
[StatelessWorker, Reentrant]
public sealed class LettersGrain(BulkReceipts receipts, ILetterStore store) : Grain, ILettersGrain
{
    public Task<IReadOnlyList<ReceiptOutcome>> ApplyReceipts(IReadOnlyList<BusinessReceipt> batch) => receipts.Apply(batch);

    public Task<BulkLetter?> Find(Guid messageUuid) => store.Find(messageUuid);

    public Task<IReadOnlyList<BulkLetter>> FindAll(IReadOnlyList<Guid> messageUuids) => store.FindAll(messageUuids);
}
