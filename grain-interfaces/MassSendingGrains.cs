namespace DigitalPost.Contracts;

/// <summary>What a merge batch is made of, besides its rows. Stored once when the batch begins.</summary>
[GenerateSerializer, Immutable, Alias("dp.BatchHeader")]
public sealed record BatchHeader(
    [property: Id(0)] string SenderId,
    [property: Id(1)] string SenderBatchId,
    /// <summary>The sending authority's CVR and name, as they appear on the letters.</summary>
    [property: Id(2)] string SenderCvr,
    [property: Id(3)] string SenderName,
    [property: Id(4)] BatchOptions Options,
    /// <summary>The letter template (Liquid).</summary>
    [property: Id(5)] string Template,
    [property: Id(6)] IReadOnlyList<Attachment> CommonAttachments,
    [property: Id(7)] IReadOnlyList<Attachment> IndividualAttachments,
    /// <summary>A hash of template, options and attachments: resubmitting the same id with other content is refused.</summary>
    [property: Id(8)] string Fingerprint);

[GenerateSerializer, Alias("dp.BatchBeginOutcome")]
public enum BatchBeginOutcome
{
    /// <summary>New, or an unfinished submission of the same content: rows may be added.</summary>
    Receiving,
    /// <summary>This batch was accepted before: nothing more is added and no letter is made twice.</summary>
    AlreadyAccepted,
    /// <summary>The batch id is taken by another content.</summary>
    Conflict,
}

[GenerateSerializer, Immutable, Alias("dp.AttachmentInfo")]
public sealed record AttachmentInfo([property: Id(0)] string Filename, [property: Id(1)] string ContentType, [property: Id(2)] long Bytes);

/// <summary>A row's letter as it will be sent: the PDF and the attachments that go with it.</summary>
[GenerateSerializer, Immutable, Alias("dp.LetterPreview")]
public sealed record LetterPreview(
    [property: Id(0)] int Row,
    [property: Id(1)] byte[] Pdf,
    [property: Id(2)] IReadOnlyList<AttachmentInfo> Attachments,
    /// <summary>The row's merge fields as read from the CSV.</summary>
    [property: Id(3)] IReadOnlyDictionary<string, string> Fields);

/// <summary>A merge batch, keyed by an id derived from the sender and the sender's batch id: the coordinator of its
/// partitions. It takes the rows in chunks, seals the batch, starts its partitions at its send time and sums their
/// counts; each partition (<see cref="IBatchPartitionGrain"/>) sends and follows its own share of the letters.</summary>
[Alias("dp.IMergeBatchGrain")]
public interface IMergeBatchGrain : IGrainWithGuidKey, IWakeUpTarget, IForgettable
{
    /// <summary>Removes the recipient (a CPR or CVR number) from its chunks' rows: a row to them goes, and they leave
    /// the copies of others' rows. Returns how many rows named them.</summary>
    [Alias("EraseRecipient")] Task<int> EraseRecipient(string recipientId);
    [Alias("Begin")] Task<BatchBeginOutcome> Begin(BatchHeader header);
    /// <summary>Stores one chunk of accepted rows and the issues found in its part of the CSV. Repeating a chunk
    /// replaces it.</summary>
    [Alias("AddRows")] Task AddRows(int chunk, IReadOnlyList<BatchRow> rows, IReadOnlyList<RowIssue> issues);
    /// <summary>Ends the submission: from here on the batch is accepted and its letters go out (at its send time).</summary>
    [Alias("Seal")] Task<BatchStatusView> Seal(int chunks);
    [Alias("GetStatus")] Task<BatchStatusView?> GetStatus();
    [Alias("GetLetters")] Task<IReadOnlyList<LetterView>> GetLetters(bool errorsOnly, int skip, int take);
    [Alias("GetIssues")] Task<IReadOnlyList<RowIssue>> GetIssues(int skip, int take);
    /// <summary>Sends failed and returned letters again (after the recipient check, anew). Returns how many.</summary>
    [Alias("RetryFailed")] Task<int> RetryFailed();
    /// <summary>The row's letter as it would be sent, or null when the batch has no such row. Without
    /// <paramref name="renderPdf"/> only the row's fields and attachments are given (the PDF is empty).</summary>
    [Alias("Preview")] Task<LetterPreview?> Preview(int row, bool renderPdf = true);
    /// <summary>What a reply to one of the batch's letters must agree with; null when the batch has no such letter.</summary>
    [Alias("ReplyTerms")] Task<ReplyTerms?> ReplyTerms(Guid messageUuid, int row, int copy);
    /// <summary>Letters of the print lane that the print provider moved on (printed, handed to the postal service);
    /// their rows in the letter store moved first. Repeats change nothing.</summary>
    [Alias("PrintProgressed")] Task PrintProgressed(IReadOnlyList<BulkLetter> letters, LetterState state, DateTimeOffset at);
    /// <summary>What a partition sends: the header and its chunks. Null before the batch is sealed.</summary>
    [Alias("GetPlan")] Task<BatchPartitionPlan?> GetPlan(int partition);
    /// <summary>A partition has every letter final and archived; its final counts. Repeats change nothing.</summary>
    [Alias("PartitionCompleted")] Task PartitionCompleted(int partition, PartitionTally tally);
    /// <summary>Stops the batch's letters not yet sent (<see cref="IBatchPartitionGrain.Cancel"/>): they become
    /// <see cref="LetterState.Cancelled"/>, and nothing more is sent but what went out already. Null when the batch is not
    /// sealed; <see cref="BatchCancelled.AllFinal"/> once every letter is final (nothing is left to cancel).</summary>
    [Alias("Cancel")] Task<BatchCancelled?> Cancel();
}

/// <summary>What cancelling a batch did: how many letters it stopped (a row whose letters were not made yet counts as
/// one), or that every letter was final already.</summary>
[GenerateSerializer, Immutable, Alias("dp.BatchCancelled")]
public sealed record BatchCancelled([property: Id(0)] int Cancelled, [property: Id(1)] bool AllFinal);

/// <summary>A fixed share of a batch's chunks (chunk c belongs to partition c % partitions), keyed "batchId/partition"
/// (<see cref="BatchPartitions.KeyOf"/>) and placed anywhere in the cluster: it takes its rows, checks the recipients,
/// sends the letters in their lanes, stores them, follows their receipts and changes, archives and tells the webhook.
/// It keeps the ledger of its own letters only, loaded from the letter store when it activates.</summary>
[Alias("dp.IBatchPartitionGrain")]
public interface IBatchPartitionGrain : IGrainWithStringKey, IWakeUpTarget, IForgettable
{
    /// <summary>Starts (or resumes) sending its letters: the batch's send time has come.</summary>
    [Alias("Start")] Task Start();
    [Alias("GetTally")] Task<PartitionTally> GetTally();
    /// <summary>Stores its letters' changes not stored yet, so the letter store answers for all of them.</summary>
    [Alias("SaveLetters")] Task SaveLetters();
    [Alias("RetryFailed")] Task<int> RetryFailed();
    [Alias("BulkDelivered")] Task BulkDelivered(IReadOnlyList<BulkLetter> letters, DateTimeOffset at);
    [Alias("BulkView")] Task<MessageStatusView?> BulkView(Guid messageUuid, int row, int copy);
    [Alias("BulkFailed")] Task BulkFailed(BulkLetter letter, BusinessReceipt receipt);
    [Alias("PrintProgressed")] Task PrintProgressed(IReadOnlyList<BulkLetter> letters, LetterState state, DateTimeOffset at);
    /// <summary>Cancels its letters not yet sent and makes no more: each stored <see cref="LetterState.Pending"/> without
    /// a message id (none of its lanes has it) becomes <see cref="LetterState.Cancelled"/> by a conditional write in the
    /// letter store, and rows whose letters were not made yet count as one cancelled letter each. Returns how many;
    /// a repeat returns 0.</summary>
    [Alias("Cancel")] Task<int> Cancel();
}

/// <summary>A chunk of a partition: its rows are <see cref="FirstRow"/>..<see cref="LastRow"/>, without the rejected ones.</summary>
[GenerateSerializer, Immutable, Alias("dp.PartitionChunk")]
public sealed record PartitionChunk([property: Id(0)] int Chunk, [property: Id(1)] int Rows, [property: Id(2)] int FirstRow, [property: Id(3)] int LastRow);

[GenerateSerializer, Immutable, Alias("dp.BatchPartitionPlan")]
public sealed record BatchPartitionPlan(
    [property: Id(0)] BatchHeader Header,
    [property: Id(1)] DateTimeOffset AcceptedAt,
    [property: Id(2)] int Partitions,
    /// <summary>The partition's chunks, in order.</summary>
    [property: Id(3)] IReadOnlyList<PartitionChunk> Chunks);

/// <summary>A partition's counts: its letters, plus one pending letter per row it has not made letters for yet.
/// Accepted and rejected rows are the batch's to count.</summary>
[GenerateSerializer, Immutable, Alias("dp.PartitionTally")]
public sealed record PartitionTally(
    [property: Id(0)] BatchCounts Counts,
    [property: Id(1)] int Letters,
    [property: Id(2)] int Final,
    /// <summary>Delivered letters waiting to be archived.</summary>
    [property: Id(3)] int ArchiveQueue);

/// <summary>The ownership rule of a batch's partitions, shared by the batch, its partitions and the callers that reach a
/// letter's partition directly.</summary>
public static class BatchPartitions
{
    /// <summary>How many partitions a batch of <paramref name="chunks"/> chunks has: as configured, but each with at
    /// least <paramref name="chunksPerPartition"/> chunks (a smaller share would cost activations and fill its receiver
    /// systems' pushes less), and at least one for a batch with any chunk.</summary>
    public static int Count(int configured, int chunks, int chunksPerPartition) =>
        chunks <= 0 ? 0 : Math.Clamp((chunks + Math.Max(1, chunksPerPartition) - 1) / Math.Max(1, chunksPerPartition), 1, Math.Max(1, configured));

    public static int OfChunk(int chunk, int partitions) => chunk % partitions;

    public static string KeyOf(Guid batchId, int partition) => $"{batchId:N}/{partition}";

    public static (Guid BatchId, int Partition) Parse(string key)
    {
        var slash = key.IndexOf('/');
        return (Guid.ParseExact(key[..slash], "N"), int.Parse(key[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}

/// <summary>The letters of all batches by message id, and the receipts of the bulk lane. A stateless worker on every
/// silo: receipts are applied where they arrive, many in one call.</summary>
[Alias("dp.ILettersGrain")]
public interface ILettersGrain : IGrainWithIntegerKey
{
    /// <summary>One outcome per receipt, in order.</summary>
    [Alias("ApplyReceipts")] Task<IReadOnlyList<ReceiptOutcome>> ApplyReceipts(IReadOnlyList<BusinessReceipt> receipts);
    /// <summary>The batch letter with this message id, or null.</summary>
    [Alias("Find")] Task<BulkLetter?> Find(Guid messageUuid);
    /// <summary>The batch letters of these message ids, in one lookup (those no batch made are left out).</summary>
    [Alias("FindAll")] Task<IReadOnlyList<BulkLetter>> FindAll(IReadOnlyList<Guid> messageUuids);
}

/// <summary>A letter of a batch, as the letter store finds it by its message id; one that went out in bulk is delivered
/// without a message grain of its own.</summary>
[GenerateSerializer, Immutable, Alias("dp.BulkLetter")]
public readonly record struct BulkLetter(
    [property: Id(0)] Guid BatchId,
    [property: Id(1)] int Row,
    [property: Id(2)] int Copy,
    [property: Id(3)] Guid MessageUuid,
    /// <summary>The receiver system's key ("cvr/systemId") while the letter is in the bulk lane; null once its
    /// message grain has taken it over.</summary>
    [property: Id(4)] string? ReceiverSystemKey,
    /// <summary>Stored as delivered: a positive receipt finished it, or the citizen's mailbox has it.</summary>
    [property: Id(5)] bool Delivered = false,
    [property: Id(6)] LetterLane Lane = LetterLane.ReceiverSystem,
    /// <summary>The partition of its batch that owns it: receipts go there directly.</summary>
    [property: Id(7)] int Partition = 0);

/// <summary>A chunk of a batch's accepted rows, keyed "batchId/chunk". Written once, read while dispatching.</summary>
[Alias("dp.IBatchChunkGrain")]
public interface IBatchChunkGrain : IGrainWithStringKey, IForgettable
{
    /// <summary>See <see cref="IMergeBatchGrain.EraseRecipient"/>.</summary>
    [Alias("EraseRecipient")] Task<int> EraseRecipient(string recipientId);
    [Alias("Store")] Task Store(IReadOnlyList<BatchRow> rows);
    [Alias("GetRows")] Task<IReadOnlyList<BatchRow>> GetRows();
    /// <summary>The rows, for their dispatch: the chunk then leaves memory (its rows stay in storage), since it is
    /// rarely read again.</summary>
    [Alias("TakeRows")] Task<IReadOnlyList<BatchRow>> TakeRows();
}

[GenerateSerializer, Immutable, Alias("dp.RecipientQuery")]
public sealed record RecipientQuery([property: Id(0)] RecipientKind Kind, [property: Id(1)] string Id, [property: Id(2)] string? PNumber = null);

/// <summary>The recipient registry (key 0): who can receive Digital Post. A stateless front to the registry's tables
/// on every silo; load it in chunks (tens of thousands of records per call), not all at once.</summary>
[Alias("dp.IRecipientRegistryGrain")]
public interface IRecipientRegistryGrain : IGrainWithIntegerKey
{
    // The lists are [Immutable]: a chunk of a load is tens of thousands of records, which a call within the silo would
    // otherwise copy, and neither side changes it.
    /// <summary>Adds or replaces citizens (by CPR); of a number given twice, the last counts.</summary>
    [Alias("UpsertCitizens")] Task<RegistryCounts> UpsertCitizens([Immutable] IReadOnlyList<Citizen> citizens);
    /// <summary>Adds or replaces companies (by CVR), each with exactly the P-numbers given; a P-number given for another
    /// company than before moves to it.</summary>
    [Alias("UpsertCompanies")] Task<RegistryCounts> UpsertCompanies([Immutable] IReadOnlyList<Company> companies);
    [Alias("Lookup")] Task<IReadOnlyList<RecipientInfo>> Lookup(IReadOnlyList<RecipientQuery> queries);
    [Alias("Counts")] Task<RegistryCounts> Counts();
}

[GenerateSerializer, Immutable, Alias("dp.PrintJob")]
public sealed record PrintJob(
    [property: Id(0)] Guid MessageUuid,
    [property: Id(1)] IReadOnlyList<string> Address,
    [property: Id(2)] int Documents,
    /// <summary>The batch letter it prints, when its batch's print lane queued it; null for a message grain's job.</summary>
    [property: Id(3)] BatchRef? Letter = null,
    /// <summary>The letter's files in the document store: the provider reads them from there when it prints.</summary>
    [property: Id(4)] IReadOnlyList<DocumentKey>? StoredFiles = null);

[GenerateSerializer, Immutable, Alias("dp.PrintQueueStatus")]
public sealed record PrintQueueStatus(
    [property: Id(0)] int WaitingToPrint,
    [property: Id(1)] int Printed,
    [property: Id(2)] int HandedToPostalService,
    /// <summary>Bytes of stored documents streamed to the provider for printing.</summary>
    [property: Id(3)] long DocumentBytesSent = 0);

/// <summary>The remote-print provider (fjernprint), simulated as a durable queue: a job is printed, then handed to
/// the postal service, each after a configured time, and its message is told.</summary>
[Alias("dp.IPrintQueueGrain")]
public interface IPrintQueueGrain : IGrainWithIntegerKey, IWakeUpTarget
{
    [Alias("Enqueue")] Task Enqueue(PrintJob job);
    /// <summary>A batch put jobs in the print queue itself (in bulk); the earliest is due at <paramref name="due"/>.</summary>
    [Alias("Queued")] Task Queued(DateTimeOffset due);
    [Alias("GetStatus")] Task<PrintQueueStatus> GetStatus();
}

/// <summary>One archived letter with its receipts.</summary>
[GenerateSerializer, Immutable, Alias("dp.ArchivedLetter")]
public sealed record ArchivedLetter(
    [property: Id(0)] Guid MessageUuid,
    [property: Id(1)] Guid BatchId,
    [property: Id(2)] int Row,
    [property: Id(3)] int Copy,
    [property: Id(4)] string Label,
    [property: Id(5)] LetterState State,
    [property: Id(6)] DateTimeOffset ArchivedAt,
    [property: Id(7)] IReadOnlyList<DeliveryAttempt> Receipts,
    /// <summary>Set on a reply from the recipient: the letter of this case it answers.</summary>
    [property: Id(8)] Guid? ReplyTo = null);

[GenerateSerializer, Immutable, Alias("dp.ArchiveCase")]
public sealed record ArchiveCase(
    [property: Id(0)] RecipientKind Kind,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] IReadOnlyList<ArchivedLetter> Letters);

/// <summary>A recipient's case (sag) in a sender's archive. Keyed by <c>CaseKey</c>: a keyed hash of sender and
/// recipient, so no CPR number appears in a grain id.</summary>
[Alias("dp.IArchiveCaseGrain")]
public interface IArchiveCaseGrain : IGrainWithStringKey
{
    /// <summary>Creates the case when missing; a letter archived before is ignored.</summary>
    [Alias("Archive")] Task Archive(RecipientKind kind, ArchivedLetter letter);
    [Alias("GetCase")] Task<ArchiveCase?> GetCase();
}

[GenerateSerializer, Immutable, Alias("dp.SenderStatus")]
public sealed record SenderStatus(
    [property: Id(0)] string SenderId,
    [property: Id(1)] Uri? Webhook,
    /// <summary>Status events stored and not yet acknowledged by the webhook.</summary>
    [property: Id(2)] int Pending,
    [property: Id(3)] long Delivered,
    [property: Id(4)] string? LastError);

/// <summary>A sender system: its webhook and the durable outbox of status events pushed to it.</summary>
[Alias("dp.ISenderGrain")]
public interface ISenderGrain : IGrainWithStringKey, IWakeUpTarget
{
    [Alias("SetWebhook")] Task<SenderStatus> SetWebhook(Uri? webhook);
    /// <summary>Stores the events for the webhook; returns once they are stored.</summary>
    [Alias("Notify")] Task Notify(Guid batchId, string senderBatchId, IReadOnlyList<LetterStatusChanged> changes);
    [Alias("GetStatus")] Task<SenderStatus> GetStatus();
}
