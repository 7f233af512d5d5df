using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Infrastructure;
using DigitalPost.Ngdp;
using Microsoft.Extensions.Logging;

namespace DigitalPost.Grains;

/// <summary>The steps of one message's delivery, on its <see cref="MessageState"/>: routing, pushes, the outcome of each
/// attempt and the resend flow's warnings, retries and forwarding. The rules live in <see cref="ResendFlow"/> and
/// <see cref="Router"/>; the message grain decides when a step runs and stores what it changed.</summary>
internal sealed class ResendSteps(
    Guid uuid,
    Func<MessageState> state,
    TimeProvider time,
    ResendFlowOptions options,
    ReceiverSystemDelivery receiverSystems,
    OutsideReceiverSystems outside,
    IVirkMailboxStore virkMailboxes,
    IGrainFactory grains,
    ILogger log)
{
    private readonly ResendFlow _flow = new(options);
    private MessageState S => state();
    private string RecipientId => S.Message!.Header.Recipient.RecipientId;
    private string? ContactPointId => S.Message!.Header.Recipient.ContactPointId;
    private bool IsFinal => S.Status.IsFinal();

    /// <summary>Does everything that is due, until the message is final or must wait.</summary>
    public async Task Advance()
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
                    var deadline = pending.PushedAt + options.ReceiptTimeout;
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
                    Record(MessageEventKind.ReceiptMissing, $"no receipt within {options.ReceiptTimeout}", pending.ReceiverSystemId);
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

    /// <summary>Applies a business receipt to the attempt it answers. Only an applied or late receipt changes the state.</summary>
    public async Task<ReceiptOutcome> Receive(BusinessReceipt receipt)
    {
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
            if (!receipt.Positive && !receipt.ReportsVirus) return outcome;
        }

        if (receipt.Positive)
        {
            Complete(attempt, AttemptOutcome.Positive, now);
            S.Status = MessageStatus.Delivered;
            S.NextActionAt = null;
            Record(MessageEventKind.ReceiptPositive, "delivered: positive business receipt", attempt.ReceiverSystemId);
            await SystemOf(attempt).RecordOutcome(new DeliveryOutcome(uuid, DeliveryOutcomeKind.Positive, now));
        }
        else if (receipt.ReportsVirus)
        {
            Complete(attempt, AttemptOutcome.Virus, now, receipt.ErrorCode, receipt.ErrorText);
            S.Status = MessageStatus.Stopped;
            S.NextActionAt = null;
            (S.ErrorCode, S.ErrorText) = (receipt.ErrorCode, receipt.ErrorText ?? "the receiver system found a virus");
            Record(MessageEventKind.StoppedForVirus, "the receiver system reported a virus: the resend flow stops", attempt.ReceiverSystemId);
            Record(MessageEventKind.SenderNotified, $"sender {S.Message!.Header.Sender.SenderId} told: not delivered, virus found");
            await SystemOf(attempt).RecordOutcome(new DeliveryOutcome(uuid, DeliveryOutcomeKind.Virus, now));
        }
        else
        {
            Complete(attempt, AttemptOutcome.Negative, now, receipt.ErrorCode, receipt.ErrorText);
            Record(MessageEventKind.ReceiptNegative, $"negative business receipt: {receipt.ErrorCode} {receipt.ErrorText}", attempt.ReceiverSystemId);
            await Fail(attempt, DeliveryOutcomeKind.Negative, receipt.ErrorCode ?? "NEGATIVE", receipt.ErrorText ?? "negative business receipt", now);
            await Advance();
        }
        return outcome;
    }

    /// <summary>Citizens' Digital Post, physical post and NemSMS go out at once, with no resend flow.</summary>
    private async Task DeliverOutsideReceiverSystems(DateTimeOffset now)
    {
        var delivery = await outside.Deliver(uuid, S.Message!, now);
        (S.Target, S.Status, S.NextActionAt) = (delivery.Target, delivery.Status, null);
        Record(delivery.Event, delivery.Detail);
    }

    private async Task Act(ResendStep step, DateTimeOffset now)
    {
        var failing = S.Target!.ReceiverSystemId!;
        switch (step)
        {
            case ResendStep.FirstWarning:
                await SystemOf(failing).NotifyContacts(new ContactNotice(ContactNoticeKind.FirstWarning, uuid, now, LastError()));
                S.FirstWarningSent = true;
                Record(MessageEventKind.FirstWarningSent, "day 2: the receiver system's contacts were warned by e-mail", failing);
                break;

            case ResendStep.SecondWarning:
                await SystemOf(failing).NotifyContacts(new ContactNotice(ContactNoticeKind.SecondWarning, uuid, now, LastError()));
                S.SecondWarningSent = true;
                Record(MessageEventKind.SecondWarningSent, "day 5: the receiver system's contacts were warned again", failing);
                break;

            case ResendStep.Forward:
                if (S.Status == MessageStatus.AwaitingReceipt)
                {
                    var abandoned = S.Attempts[^1];
                    Complete(abandoned, AttemptOutcome.NoReceipt, now, "NO_RECEIPT", "no receipt before the message was forwarded");
                    await SystemOf(abandoned).RecordOutcome(new DeliveryOutcome(uuid, DeliveryOutcomeKind.NoReceipt, now));
                }
                var route = await Organisation.Route(new RouteRequest(ContactPointId, ForwardFromSystemId: failing));
                await SystemOf(failing).NotifyContacts(new ContactNotice(ContactNoticeKind.Forwarded, uuid, now, $"fremsendt til {Danish(route.Target)}"));
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
    public async Task Deliver(DeliveryTarget target, DateTimeOffset now)
    {
        S.Target = target;
        S.FirstFailedAt = null;
        S.FirstWarningSent = S.SecondWarningSent = false;
        if (target.Kind == DeliveryTargetKind.VirkMailbox)
        {
            await virkMailboxes.Add(RecipientId, new VirkMailItem(uuid, now, ContactPointId, S.History[^1].Detail));
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
            target, [new PushEnvelope(uuid, attempt.ReceiverSystemId, attempt.Number, S.Message!)], options.PushTimeout);
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

    public async Task Fail(DeliveryAttempt attempt, DeliveryOutcomeKind kind, string code, string text, DateTimeOffset now)
    {
        S.Status = MessageStatus.Failing;
        S.FirstFailedAt ??= now;
        (S.ErrorCode, S.ErrorText) = (code, text);
        log.LogInformation("Message {MessageUuid} failed at {ReceiverSystem}: {Code}", uuid, attempt.ReceiverSystemId, code);
        await SystemOf(attempt).RecordOutcome(new DeliveryOutcome(uuid, kind, now));
    }

    private ResendProgress Progress(bool attemptInFlight) =>
        new(S.FirstFailedAt!.Value, S.Attempts[^1].PushedAt, S.FirstWarningSent, S.SecondWarningSent, attemptInFlight, Forwarded: S.ForwardedFrom is not null);

    public void Complete(DeliveryAttempt attempt, AttemptOutcome outcome, DateTimeOffset now, string? code = null, string? text = null)
    {
        var index = S.Attempts.IndexOf(attempt);
        S.Attempts[index] = attempt with { Outcome = outcome, CompletedAt = now, ErrorCode = code, ErrorText = text };
    }

    public void Record(MessageEventKind kind, string detail, string? receiverSystemId = null) =>
        S.History.Add(new MessageEvent(time.GetUtcNow(), kind, detail, receiverSystemId));

    private string LastError() => $"seneste fejl: {S.ErrorCode} {S.ErrorText}";

    private static string Danish(DeliveryTarget target) =>
        target.Kind == DeliveryTargetKind.VirkMailbox ? "Virk-postkassen" : $"primærmodtagersystemet {target.ReceiverSystemId}";

    private IOrganisationGrain Organisation => grains.GetGrain<IOrganisationGrain>(RecipientId);
    public IReceiverSystemGrain SystemOf(DeliveryAttempt attempt) => SystemOf(attempt.ReceiverSystemId);
    private IReceiverSystemGrain SystemOf(string systemId) => grains.GetGrain<IReceiverSystemGrain>(ReceiverSystemKey.Of(RecipientId, systemId));
}
