using System.Security.Cryptography;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Infrastructure;
using DigitalPost.Ngdp;
using DigitalPost.Retention;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DigitalPost.Grains;

/// <summary>One message: routes it, pushes it, awaits its receipt and runs its resend flow. The rules live in
/// <see cref="ResendFlow"/> and <see cref="Router"/>, the steps in <see cref="ResendSteps"/>; this grain decides when a
/// step runs and stores what it changed.</summary>
public sealed class MessageGrain(
    [PersistentState("message", StorageNames.Messages)] IPersistentState<MessageState> state,
    TimeProvider time,
    IOptions<ResendFlowOptions> options,
    WakeUps wakeUps,
    ReceiverSystemDelivery receiverSystems,
    ILetterStore letters,
    OutsideReceiverSystems outside,
    IDocumentStore documents,
    IVirkMailboxStore virkMailboxes,
    IMessageOutcomes outcomes,
    ILogger<MessageGrain> log) : Grain, IMessageGrain
{
    private readonly ResendFlowOptions _options = options.Value;
    // Made on first use: the grain's key and stream provider are not known while its fields are initialised.
    private ResendSteps? _steps;
    private LetterStatusPublisher? _publisher;
    private IGrainTimer? _leaving;
    private ResendSteps Steps => _steps ??= new(Uuid, () => state.State, time, _options, receiverSystems, outside, virkMailboxes, GrainFactory, log);
    private LetterStatusPublisher Publisher => _publisher ??= new(Uuid, time, this.GetStreamProvider(LetterStream.Provider));
    private MessageState S => state.State;
    private Guid Uuid => this.GetPrimaryKey();
    private string RecipientId => S.Message!.Header.Recipient.RecipientId;
    private string? ContactPointId => S.Message!.Header.Recipient.ContactPointId;
    private bool IsFinal => S.Status.IsFinal();

    public Task<SubmitResult> Submit(Message message) => Guarded(() => SubmitCore(message));

    private async Task<SubmitResult> SubmitCore(Message message)
    {
        if (message.Header.MessageUuid != Uuid)
            throw new ArgumentException($"header.messageUuid {message.Header.MessageUuid} does not match the grain {Uuid}.");
        var fingerprint = Fingerprint(message);
        if (S.Message is not null)
            return new SubmitResult(Uuid, S.Fingerprint == fingerprint ? SubmitOutcome.Duplicate : SubmitOutcome.Conflict, S.Status);

        var now = time.GetUtcNow();
        var errors = MessageRules.Validate(message, now, _options);
        if (errors.Count == 0) errors = await UnstoredFiles(message);
        if (errors.Count > 0) throw new ValidationException(errors);

        S.Message = message;
        S.Fingerprint = fingerprint;
        S.Status = MessageStatus.Accepted;
        S.AcceptedAt = now;
        S.NextActionAt = message.Header.DoNotDeliverUntilDate is { } valoer && valoer > now ? valoer : now;
        Steps.Record(MessageEventKind.Accepted, S.NextActionAt > now ? $"held until its valør date {S.NextActionAt:O}" : "accepted");
        await Save();

        // The message is stored and its wake-up is durable; deliver now without holding up the sender.
        if (S.NextActionAt <= now) this.AsReference<IMessageGrain>().WakeUp().Ignore();
        return new SubmitResult(Uuid, SubmitOutcome.Accepted, S.Status);
    }

    /// <summary>Files the message says are in the document store but are not, as they are described. The intake stores
    /// them before it submits; they can be missing only when an intake of the same id that failed discarded them
    /// meanwhile, and then the sender must send again.</summary>
    private async Task<IReadOnlyList<ValidationError>> UnstoredFiles(Message message)
    {
        var errors = new List<ValidationError>();
        foreach (var (key, file) in MessageDocuments.Files(message).Where(f => f.File.IsStored()))
            if (await documents.Find(key) is not { } stored || stored.Length != file.Length || stored.Sha256 != file.Sha256)
                errors.Add(new($"{MessageDocuments.PathOf(message.Body, key.Document)}.files[{key.File}]",
                    "is not in the document store as the message describes it; send the message again"));
        return errors;
    }

    public Task<DocumentFile?> GetDocumentFile(int document, int file)
    {
        if (S.Message is null) LeaveSoon();
        return Task.FromResult(S.Message is null ? null : MessageDocuments.All(S.Message.Body).ElementAtOrDefault(document)?.Files.ElementAtOrDefault(file));
    }

    public async Task DiscardDocuments()
    {
        // A turn of this grain: a submission of the same id is either accepted before (its documents stay) or after,
        // and then finds its documents gone and is refused rather than accepted without them.
        if (S.Message is not null) return;
        await documents.Delete(Uuid);
        DeactivateOnIdle();
    }

    public Task TakeOver(Message message, DeliveryTarget target, DateTimeOffset pushedAt, BusinessReceipt? receipt) =>
        Guarded(() => TakeOverCore(message, target, pushedAt, receipt));

    private async Task TakeOverCore(Message message, DeliveryTarget target, DateTimeOffset pushedAt, BusinessReceipt? receipt)
    {
        // Taken over already (a racing hand-over came first): a receipt this one carries is this grain's to apply.
        if (S.Message is not null)
        {
            if (receipt is not null) await ReceiveReceiptCore(receipt);
            return;
        }
        S.Message = message;
        S.Fingerprint = Fingerprint(message);
        S.AcceptedAt = pushedAt;
        S.Target = target;
        S.Status = MessageStatus.AwaitingReceipt;
        S.Attempts.Add(new DeliveryAttempt(1, target.ReceiverSystemId!, pushedAt));
        Steps.Record(MessageEventKind.Accepted, "accepted with its batch");
        Steps.Record(MessageEventKind.Pushed, "attempt 1 pushed with its batch; awaiting the business receipt", target.ReceiverSystemId);
        if (receipt is not null)
        {
            // Stored first, with a wake-up at the receipt's deadline: a crash before the receipt is applied leaves a
            // message that waits for that deadline and then runs the resend flow.
            S.NextActionAt = pushedAt + _options.ReceiptTimeout;
            await Save();
            await ReceiveReceipt(receipt);
            return;
        }
        await Steps.Advance();
        await Save();
    }

    public Task MoveFromVirk(Guid moveId, RouteDecision route) => Guarded(async () =>
    {
        if (S.Message is null) await state.ReadStateAsync();
        if (S.Message is null || S.Status != MessageStatus.DeliveredToVirk || S.LastVirkMove == moveId) return;
        S.LastVirkMove = moveId;
        S.ForwardedFrom = null;
        Steps.Record(MessageEventKind.MovedFromVirk, $"moved out of the Virk mailbox (move {moveId}) to {route.Target}: {route.Reason}", route.Target.ReceiverSystemId);
        await Steps.Deliver(route.Target, time.GetUtcNow());
        await Steps.Advance();
        await Save();
    });

    public Task<bool> Forget() => StateForgetting.Forget(state, this);

    public async Task<ReplyTerms?> GetReplyTerms()
    {
        if (S.Message is { Batch: null } single)
            return new ReplyTerms(Uuid, single.Header.Sender.SenderId, RecipientId, single.Header.Recipient.IdType, single.Header.Reply,
                single.Header.ReplyByDateTime, single.Header.Label);
        if (S.Message is null) LeaveSoon();
        var batch = S.Message?.Batch ?? (await letters.Find(Uuid) is { } bulk ? new BatchRef(bulk.BatchId, bulk.Row, bulk.Copy) : null);
        if (batch is null || await GrainFactory.GetGrain<IMergeBatchGrain>(batch.BatchId).ReplyTerms(Uuid, batch.Row, batch.Copy) is not { } terms) return null;
        return S.Message is null ? terms : terms with { RecipientId = RecipientId, RecipientKind = S.Message.Header.Recipient.IdType };
    }

    public Task WakeUp() => Guarded(WakeUpCore);

    private async Task WakeUpCore()
    {
        // An activation made while the cluster lost a silo may predate the message it is woken for (a second
        // activation held it meanwhile): it reads the state as stored rather than dropping the wake-up as empty.
        if (S.Message is null) await state.ReadStateAsync();
        if (S.Message is null || IsFinal) return;
        await Steps.Advance();
        await Save();
    }

    public Task<ReceiptOutcome> ReceiveReceipt(BusinessReceipt receipt) => Guarded(() => ReceiveReceiptCore(receipt));

    private async Task<ReceiptOutcome> ReceiveReceiptCore(BusinessReceipt receipt)
    {
        if (S.Message is null)
        {
            // A letter of the bulk lane has no state here until it needs the resend flow: its receipt is the lane's.
            LeaveSoon();
            return ReceiptOutcome.UnknownMessage;
        }
        if (IsFinal) return ReceiptOutcome.Duplicate;
        var outcome = await Steps.Receive(receipt);
        // A duplicate or a receipt for no attempt changed nothing, so there is nothing to store.
        if (outcome is ReceiptOutcome.Applied or ReceiptOutcome.Late) await Save();
        return outcome;
    }

    public async Task<MessageStatusView?> GetStatus()
    {
        if (S.Message is not null)
            return new MessageStatusView(Uuid, S.Status, RecipientId, ContactPointId, S.Target, S.AcceptedAt, S.NextActionAt, S.FirstFailedAt,
                [.. S.Attempts], [.. S.History], S.ErrorCode, S.ErrorText, S.Message.Header.Sender.SenderId);
        // A letter delivered in bulk has its state in its batch's letter record, not here.
        LeaveSoon();
        return await letters.Find(Uuid) is { Lane: not LetterLane.MessageGrain } bulk
            ? await GrainFactory.GetGrain<IBatchPartitionGrain>(BatchPartitions.KeyOf(bulk.BatchId, bulk.Partition)).BulkView(Uuid, bulk.Row, bulk.Copy)
            : null;
    }

    public async Task PrintProgressed(MessageStatus status)
    {
        // Repeats and steps out of order (a print queue replaying after a crash) change nothing.
        if (S.Message is null || S.Status is not (MessageStatus.SentToPrint or MessageStatus.Printed) || status <= S.Status) return;
        S.Status = status;
        Steps.Record(status == MessageStatus.Printed ? MessageEventKind.Printed : MessageEventKind.HandedToPostalService,
            status == MessageStatus.Printed ? "printed" : "handed to the postal service");
        await Save();
    }

    /// <summary>A step that fails half-way (a call to a silo that died, a storage error) leaves this activation's state
    /// ahead of what is stored, possibly with no wake-up: the activation is dropped, so that the next call (the retried
    /// receipt, the wake-up) starts again from the stored state.</summary>
    private async Task<T> Guarded<T>(Func<Task<T>> step)
    {
        try { return await step(); }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    private Task Guarded(Func<Task> step) => Guarded(async () =>
    {
        await step();
        return true;
    });

    /// <summary>Drops an activation without a message a second after its first call rather than at that call's end. Calls
    /// queued behind it (a burst of receipts or status reads for one id) would otherwise each be forwarded to a new
    /// activation that drops itself again, until Orleans refuses them for too many forwards.</summary>
    private void LeaveSoon() => _leaving ??= this.RegisterGrainTimer(() =>
    {
        if (S.Message is null) DeactivateOnIdle();
        return Task.CompletedTask;
    }, new GrainTimerCreationOptions(TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan));

    /// <summary>Schedules the next wake-up before storing the state that needs it: a crash in between repeats a step
    /// (every step is idempotent) but never strands a message without a wake-up.</summary>
    private async Task Save()
    {
        if (S.NextActionAt is { } due && due != S.ScheduledWakeUp)
        {
            await wakeUps.Schedule(this.GetGrainId(), due);
            S.ScheduledWakeUp = due;
        }
        await Publisher.Publish(S);
        // The receipt of a MeMo sent through the NgDP face is completed before the final state is stored, as the batch
        // is told: a crash in between tells it again, which changes nothing.
        if (IsFinal) await outcomes.Finished(new MessageOutcome(Uuid, S.Status, S.ErrorCode, S.ErrorText, time.GetUtcNow()));
        await state.WriteStateAsync();
        // A message with its final state needs no activation; a status query reads it back from storage.
        if (IsFinal) DeactivateOnIdle();
    }

    public Task<LetterStatusChanged?> GetLetterStatus() => Task.FromResult(Publisher.Change(S));

    private static string Fingerprint(Message message) =>
        Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(message, PlatformJson.Options)));
}
