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

[GenerateSerializer, Alias("dp.MessageState")]
public sealed class MessageState
{
    [Id(0)] public Message? Message { get; set; }
    /// <summary>A hash of the submitted message: a resubmission with the same id must be the same message.</summary>
    [Id(1)] public string? Fingerprint { get; set; }
    [Id(2)] public MessageStatus Status { get; set; }
    [Id(3)] public DateTimeOffset AcceptedAt { get; set; }
    [Id(4)] public DeliveryTarget? Target { get; set; }
    [Id(5)] public DateTimeOffset? NextActionAt { get; set; }
    [Id(6)] public DateTimeOffset? ScheduledWakeUp { get; set; }
    /// <summary>Day 0 of the resend flow at the current receiver system.</summary>
    [Id(7)] public DateTimeOffset? FirstFailedAt { get; set; }
    [Id(8)] public bool FirstWarningSent { get; set; }
    [Id(9)] public bool SecondWarningSent { get; set; }
    /// <summary>The system this message was last forwarded away from (day 7); later routing keeps away from it.</summary>
    [Id(10)] public string? ForwardedFrom { get; set; }
    [Id(11)] public List<DeliveryAttempt> Attempts { get; set; } = [];
    [Id(12)] public List<MessageEvent> History { get; set; } = [];
    [Id(13)] public string? ErrorCode { get; set; }
    [Id(14)] public string? ErrorText { get; set; }
    /// <summary>The status last published to the message's batch.</summary>
    [Id(15)] public MessageStatus? Published { get; set; }
    /// <summary>The last move that took the message out of the Virk mailbox. Its batch counted it delivered when it
    /// reached the mailbox; what follows is the organisation's, so it is not published to the batch.</summary>
    [Id(16)] public Guid? LastVirkMove { get; set; }
}

/// <summary>One message: routes it, pushes it, awaits its receipt and runs its resend flow. The rules live in
/// <see cref="ResendFlow"/> and <see cref="Router"/>; this grain orchestrates and keeps the history.</summary>
public sealed class MessageGrain(
    [PersistentState("message", StorageNames.Platform)] IPersistentState<MessageState> state,
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
    private readonly ResendFlow _flow = new(options.Value);
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
        Record(MessageEventKind.Accepted, S.NextActionAt > now ? $"held until its valør date {S.NextActionAt:O}" : "accepted");
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
        if (S.Message is null) DeactivateOnIdle();
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
        Record(MessageEventKind.Accepted, "accepted with its batch");
        Record(MessageEventKind.Pushed, "attempt 1 pushed with its batch; awaiting the business receipt", target.ReceiverSystemId);
        if (receipt is not null)
        {
            // Stored first, with a wake-up at the receipt's deadline: a crash before the receipt is applied leaves a
            // message that waits for that deadline and then runs the resend flow.
            S.NextActionAt = pushedAt + _options.ReceiptTimeout;
            await Save();
            await ReceiveReceipt(receipt);
            return;
        }
        await Advance();
        await Save();
    }

    public Task MoveFromVirk(Guid moveId, RouteDecision route) => Guarded(async () =>
    {
        if (S.Message is null) await state.ReadStateAsync();
        if (S.Message is null || S.Status != MessageStatus.DeliveredToVirk || S.LastVirkMove == moveId) return;
        S.LastVirkMove = moveId;
        S.ForwardedFrom = null;
        Record(MessageEventKind.MovedFromVirk, $"moved out of the Virk mailbox (move {moveId}) to {route.Target}: {route.Reason}", route.Target.ReceiverSystemId);
        await Deliver(route.Target, time.GetUtcNow());
        await Advance();
        await Save();
    });

    public Task<bool> Forget() => StateForgetting.Forget(state, this);

    public async Task<ReplyTerms?> GetReplyTerms()
    {
        if (S.Message is { Batch: null } single)
            return new ReplyTerms(Uuid, single.Header.Sender.SenderId, RecipientId, single.Header.Recipient.IdType, single.Header.Reply,
                single.Header.ReplyByDateTime, single.Header.Label);
        if (S.Message is null) DeactivateOnIdle();
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
        await Advance();
        await Save();
    }

    public Task<ReceiptOutcome> ReceiveReceipt(BusinessReceipt receipt) => Guarded(() => ReceiveReceiptCore(receipt));

    private async Task<ReceiptOutcome> ReceiveReceiptCore(BusinessReceipt receipt)
    {
        if (S.Message is null)
        {
            // A letter of the bulk lane has no state here until it needs the resend flow: its receipt is the lane's.
            DeactivateOnIdle();
            return ReceiptOutcome.UnknownMessage;
        }
        if (IsFinal) return ReceiptOutcome.Duplicate;
        var attempt = S.Attempts.LastOrDefault();
        if (attempt is null) return ReceiptOutcome.UnknownMessage;

        var now = time.GetUtcNow();
        var outcome = ReceiptOutcome.Applied;
        if (S.Status != MessageStatus.AwaitingReceipt)
        {
            // The attempt it answers already counted as failed.
            if (attempt.Outcome is AttemptOutcome.Negative or AttemptOutcome.Virus && !receipt.Positive && !receipt.ReportsVirus)
                return ReceiptOutcome.Duplicate;
            outcome = ReceiptOutcome.Late;
            Record(MessageEventKind.LateReceipt, receipt.Positive ? "a positive receipt after the attempt had timed out" : $"a late negative receipt: {receipt.ErrorCode} {receipt.ErrorText}", attempt.ReceiverSystemId);
            if (!receipt.Positive && !receipt.ReportsVirus)
            {
                await Save();
                return outcome;
            }
        }

        if (receipt.Positive)
        {
            Complete(attempt, AttemptOutcome.Positive, now);
            S.Status = MessageStatus.Delivered;
            S.NextActionAt = null;
            Record(MessageEventKind.ReceiptPositive, "delivered: positive business receipt", attempt.ReceiverSystemId);
            await SystemOf(attempt).RecordOutcome(new DeliveryOutcome(Uuid, DeliveryOutcomeKind.Positive, now));
        }
        else if (receipt.ReportsVirus)
        {
            Complete(attempt, AttemptOutcome.Virus, now, receipt.ErrorCode, receipt.ErrorText);
            S.Status = MessageStatus.Stopped;
            S.NextActionAt = null;
            (S.ErrorCode, S.ErrorText) = (receipt.ErrorCode, receipt.ErrorText ?? "the receiver system found a virus");
            Record(MessageEventKind.StoppedForVirus, "the receiver system reported a virus: the resend flow stops", attempt.ReceiverSystemId);
            Record(MessageEventKind.SenderNotified, $"sender {S.Message.Header.Sender.SenderId} told: not delivered, virus found");
            await SystemOf(attempt).RecordOutcome(new DeliveryOutcome(Uuid, DeliveryOutcomeKind.Virus, now));
        }
        else
        {
            Complete(attempt, AttemptOutcome.Negative, now, receipt.ErrorCode, receipt.ErrorText);
            Record(MessageEventKind.ReceiptNegative, $"negative business receipt: {receipt.ErrorCode} {receipt.ErrorText}", attempt.ReceiverSystemId);
            await Fail(attempt, DeliveryOutcomeKind.Negative, receipt.ErrorCode ?? "NEGATIVE", receipt.ErrorText ?? "negative business receipt", now);
            await Advance();
        }
        await Save();
        return outcome;
    }

    public async Task<MessageStatusView?> GetStatus()
    {
        if (S.Message is not null)
            return new MessageStatusView(Uuid, S.Status, RecipientId, ContactPointId, S.Target, S.AcceptedAt, S.NextActionAt, S.FirstFailedAt,
                [.. S.Attempts], [.. S.History], S.ErrorCode, S.ErrorText, S.Message.Header.Sender.SenderId);
        // A letter delivered in bulk has its state in its batch's letter record, not here.
        DeactivateOnIdle();
        return await letters.Find(Uuid) is { Lane: not LetterLane.MessageGrain } bulk
            ? await GrainFactory.GetGrain<IBatchPartitionGrain>(BatchPartitions.KeyOf(bulk.BatchId, bulk.Partition)).BulkView(Uuid, bulk.Row, bulk.Copy)
            : null;
    }

    /// <summary>Does everything that is due, until the message is final or must wait.</summary>
    private async Task Advance()
    {
        while (!IsFinal)
        {
            var now = time.GetUtcNow();
            switch (S.Status)
            {
                case MessageStatus.Accepted:
                    if (now < S.NextActionAt) return;
                    if (S.Message!.Channel != DeliveryChannel.DigitalPost || S.Message.Header.Recipient.IdType == RecipientIdType.Cpr)
                    {
                        await DeliverOutsideReceiverSystems(now);
                        return;
                    }
                    var route = await Organisation.Route(new RouteRequest(ContactPointId, ContentData: S.Message.Header.ContentData));
                    Record(MessageEventKind.Routed, $"to {route.Target}: {route.Reason}", route.Target.ReceiverSystemId);
                    await Deliver(route.Target, now);
                    break;

                case MessageStatus.AwaitingReceipt:
                    var pending = S.Attempts[^1];
                    var deadline = pending.PushedAt + _options.ReceiptTimeout;
                    var wakeAt = deadline;
                    if (S.FirstFailedAt is not null)
                    {
                        // Already in the resend flow: warnings and forwarding do not wait for this attempt.
                        var decision = _flow.Next(Progress(attemptInFlight: true), now);
                        if (decision.Step != ResendStep.Wait)
                        {
                            await Act(decision.Step, now);
                            break;
                        }
                        if (decision.WaitUntil < wakeAt) wakeAt = decision.WaitUntil.Value;
                    }
                    if (now < deadline)
                    {
                        S.NextActionAt = wakeAt;
                        return;
                    }
                    Complete(pending, AttemptOutcome.NoReceipt, now, "NO_RECEIPT", "no business receipt before the deadline");
                    Record(MessageEventKind.ReceiptMissing, $"no receipt within {_options.ReceiptTimeout}", pending.ReceiverSystemId);
                    await Fail(pending, DeliveryOutcomeKind.NoReceipt, "NO_RECEIPT", "no business receipt before the deadline", now);
                    break;

                case MessageStatus.Failing:
                    var next = _flow.Next(Progress(attemptInFlight: false), now);
                    if (next.Step == ResendStep.Wait)
                    {
                        S.NextActionAt = next.WaitUntil;
                        return;
                    }
                    await Act(next.Step, now);
                    break;

                default:
                    // Print statuses advance by the print queue's reports, not by wake-ups.
                    return;
            }
        }
        S.NextActionAt = null;
    }

    /// <summary>Citizens' Digital Post, physical post and NemSMS go out at once, with no resend flow.</summary>
    private async Task DeliverOutsideReceiverSystems(DateTimeOffset now)
    {
        var delivery = await outside.Deliver(Uuid, S.Message!, now);
        (S.Target, S.Status, S.NextActionAt) = (delivery.Target, delivery.Status, null);
        Record(delivery.Event, delivery.Detail);
    }

    public async Task PrintProgressed(MessageStatus status)
    {
        // Repeats and steps out of order (a print queue replaying after a crash) change nothing.
        if (S.Message is null || S.Status is not (MessageStatus.SentToPrint or MessageStatus.Printed) || status <= S.Status) return;
        S.Status = status;
        Record(status == MessageStatus.Printed ? MessageEventKind.Printed : MessageEventKind.HandedToPostalService,
            status == MessageStatus.Printed ? "printed" : "handed to the postal service");
        await Save();
    }

    private async Task Act(ResendStep step, DateTimeOffset now)
    {
        var failing = S.Target!.ReceiverSystemId!;
        switch (step)
        {
            case ResendStep.FirstWarning:
                await SystemOf(failing).NotifyContacts(new ContactNotice(ContactNoticeKind.FirstWarning, Uuid, now, LastError()));
                S.FirstWarningSent = true;
                Record(MessageEventKind.FirstWarningSent, "day 2: the receiver system's contacts were warned by e-mail", failing);
                break;

            case ResendStep.SecondWarning:
                await SystemOf(failing).NotifyContacts(new ContactNotice(ContactNoticeKind.SecondWarning, Uuid, now, LastError()));
                S.SecondWarningSent = true;
                Record(MessageEventKind.SecondWarningSent, "day 5: the receiver system's contacts were warned again", failing);
                break;

            case ResendStep.Forward:
                if (S.Status == MessageStatus.AwaitingReceipt)
                {
                    var abandoned = S.Attempts[^1];
                    Complete(abandoned, AttemptOutcome.NoReceipt, now, "NO_RECEIPT", "no receipt before the message was forwarded");
                    await SystemOf(abandoned).RecordOutcome(new DeliveryOutcome(Uuid, DeliveryOutcomeKind.NoReceipt, now));
                }
                var route = await Organisation.Route(new RouteRequest(ContactPointId, ForwardFromSystemId: failing));
                await SystemOf(failing).NotifyContacts(new ContactNotice(ContactNoticeKind.Forwarded, Uuid, now, $"fremsendt til {Danish(route.Target)}"));
                Record(MessageEventKind.Forwarded, $"day 7: forwarded to {route.Target}: {route.Reason}", failing);
                S.ForwardedFrom = failing;
                await Deliver(route.Target, now);
                break;

            case ResendStep.Retry:
                // A system deactivated meanwhile gets no more attempts: its mail goes where routing now says.
                var reroute = await Organisation.Route(new RouteRequest(ContactPointId, S.ForwardedFrom, S.Message!.Header.ContentData));
                if (reroute.Target.ReceiverSystemId != failing)
                {
                    Record(MessageEventKind.Rerouted, $"to {reroute.Target}: {reroute.Reason}", failing);
                    await Deliver(reroute.Target, now);
                }
                else await Push(reroute.Target, now);
                break;
        }
    }

    /// <summary>Starts delivery to a new target: the resend flow starts afresh there.</summary>
    private async Task Deliver(DeliveryTarget target, DateTimeOffset now)
    {
        S.Target = target;
        S.FirstFailedAt = null;
        S.FirstWarningSent = S.SecondWarningSent = false;
        if (target.Kind == DeliveryTargetKind.VirkMailbox)
        {
            await virkMailboxes.Add(RecipientId, new VirkMailItem(Uuid, now, ContactPointId, S.History[^1].Detail));
            S.Status = MessageStatus.DeliveredToVirk;
            S.NextActionAt = null;
            Record(MessageEventKind.DeliveredToVirk, "delivered to the organisation's Virk mailbox");
            return;
        }
        await Push(target, now);
    }

    private async Task Push(DeliveryTarget target, DateTimeOffset now)
    {
        var attempt = new DeliveryAttempt(S.Attempts.Count + 1, target.ReceiverSystemId!, now);
        S.Attempts.Add(attempt);
        var result = await receiverSystems.Deliver(ReceiverSystemKey.Of(RecipientId, attempt.ReceiverSystemId),
            target, [new PushEnvelope(Uuid, attempt.ReceiverSystemId, attempt.Number, S.Message!)], _options.PushTimeout);
        if (result.Accepted)
        {
            S.Status = MessageStatus.AwaitingReceipt;
            Record(MessageEventKind.Pushed, $"attempt {attempt.Number} pushed; awaiting the business receipt", attempt.ReceiverSystemId);
            return;
        }
        Complete(attempt, AttemptOutcome.TransportError, now, result.ErrorCode, result.ErrorText);
        Record(MessageEventKind.PushFailed, $"attempt {attempt.Number}: {result.ErrorText}", attempt.ReceiverSystemId);
        await Fail(S.Attempts[^1], DeliveryOutcomeKind.TransportError, result.ErrorCode!, result.ErrorText!, now);
    }

    private async Task Fail(DeliveryAttempt attempt, DeliveryOutcomeKind kind, string code, string text, DateTimeOffset now)
    {
        S.Status = MessageStatus.Failing;
        S.FirstFailedAt ??= now;
        (S.ErrorCode, S.ErrorText) = (code, text);
        log.LogInformation("Message {MessageUuid} failed at {ReceiverSystem}: {Code}", Uuid, attempt.ReceiverSystemId, code);
        await SystemOf(attempt).RecordOutcome(new DeliveryOutcome(Uuid, kind, now));
    }

    private ResendProgress Progress(bool attemptInFlight) =>
        new(S.FirstFailedAt!.Value, S.Attempts[^1].PushedAt, S.FirstWarningSent, S.SecondWarningSent, attemptInFlight, Forwarded: S.ForwardedFrom is not null);

    private void Complete(DeliveryAttempt attempt, AttemptOutcome outcome, DateTimeOffset now, string? code = null, string? text = null)
    {
        var index = S.Attempts.IndexOf(attempt);
        S.Attempts[index] = attempt with { Outcome = outcome, CompletedAt = now, ErrorCode = code, ErrorText = text };
    }

    private void Record(MessageEventKind kind, string detail, string? receiverSystemId = null) =>
        S.History.Add(new MessageEvent(time.GetUtcNow(), kind, detail, receiverSystemId));

    private string LastError() => $"seneste fejl: {S.ErrorCode} {S.ErrorText}";

    private static string Danish(DeliveryTarget target) =>
        target.Kind == DeliveryTargetKind.VirkMailbox ? "Virk-postkassen" : $"primærmodtagersystemet {target.ReceiverSystemId}";

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

    /// <summary>Schedules the next wake-up before storing the state that needs it: a crash in between repeats a step
    /// (every step is idempotent) but never strands a message without a wake-up.</summary>
    private async Task Save()
    {
        if (S.NextActionAt is { } due && due != S.ScheduledWakeUp)
        {
            await wakeUps.Schedule(this.GetGrainId(), due);
            S.ScheduledWakeUp = due;
        }
        await Publish();
        // The receipt of a MeMo sent through the NgDP face is completed before the final state is stored, as the batch
        // is told: a crash in between tells it again, which changes nothing.
        if (IsFinal) await outcomes.Finished(new MessageOutcome(Uuid, S.Status, S.ErrorCode, S.ErrorText, time.GetUtcNow()));
        await state.WriteStateAsync();
        // A message with its final state needs no activation; a status query reads it back from storage.
        if (IsFinal) DeactivateOnIdle();
    }

    /// <summary>Tells the partition of the message's batch that owns the letter of a status change. Published before the
    /// state is stored: a crash in between publishes it again, which the partition ignores.</summary>
    private async Task Publish()
    {
        if (LetterChange() is not { } change || S.Published == S.Status || S.LastVirkMove is not null) return;
        await this.GetStreamProvider(LetterStream.Provider)
            .GetStream<LetterStatusChanged>(StreamId.Create(LetterStream.Namespace, BatchPartitions.KeyOf(change.Letter.BatchId, change.Letter.Partition))).OnNextAsync(change);
        S.Published = S.Status;
    }

    public Task<LetterStatusChanged?> GetLetterStatus() => Task.FromResult(LetterChange());

    private LetterStatusChanged? LetterChange() => S.Message?.Batch is not { } batch ? null : new LetterStatusChanged(batch, Uuid,
        S.Status.ToLetterState(), time.GetUtcNow(),
        S.Status is MessageStatus.Stopped or MessageStatus.Failing ? S.ErrorCode : null,
        S.Status is MessageStatus.Stopped or MessageStatus.Failing ? S.ErrorText : null,
        S.ForwardedFrom is not null || S.History.Any(e => e.Kind is MessageEventKind.Rerouted or MessageEventKind.Forwarded),
        IsFinal ? [.. S.Attempts] : null);

    private IOrganisationGrain Organisation => GrainFactory.GetGrain<IOrganisationGrain>(RecipientId);
    private IReceiverSystemGrain SystemOf(DeliveryAttempt attempt) => SystemOf(attempt.ReceiverSystemId);
    private IReceiverSystemGrain SystemOf(string systemId) => GrainFactory.GetGrain<IReceiverSystemGrain>(ReceiverSystemKey.Of(RecipientId, systemId));

    private static string Fingerprint(Message message) =>
        Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(message, PlatformJson.Options)));
}
