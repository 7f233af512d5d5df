namespace DigitalPost.Contracts;

/// <summary>A grain that the wake-up scheduler can wake. Wake-ups may repeat or come late: targets treat them as hints.</summary>
[Alias("dp.IWakeUpTarget")]
public interface IWakeUpTarget : IAddressable
{
    [Alias("WakeUp")] Task WakeUp();
}

/// <summary>One message, keyed by its messageUUID. It owns its delivery, its resend flow and its history.</summary>
[Alias("dp.IMessageGrain")]
public interface IMessageGrain : IGrainWithGuidKey, IWakeUpTarget, IForgettable
{
    /// <summary>Stores the message and starts its delivery. Returns once the message is stored.</summary>
    [Alias("Submit")] Task<SubmitResult> Submit(Message message);

    [Alias("ReceiveReceipt")] Task<ReceiptOutcome> ReceiveReceipt(BusinessReceipt receipt);

    /// <summary>Takes over a letter that its batch pushed in bulk to <paramref name="target"/> at
    /// <paramref name="pushedAt"/> and that got a negative <paramref name="receipt"/>, or none in time: the message
    /// starts with that push as its first attempt and runs the resend flow from there. Repeats change nothing.</summary>
    [Alias("TakeOver")] Task TakeOver(Message message, DeliveryTarget target, DateTimeOffset pushedAt, BusinessReceipt? receipt);

    /// <summary>The remote-print provider reports progress of a letter sent by physical post.</summary>
    [Alias("PrintProgressed")] Task PrintProgressed(MessageStatus status);

    /// <summary>The message's status and full history, or null when no message has this id.</summary>
    [Alias("GetStatus")] Task<MessageStatusView?> GetStatus();

    /// <summary>The message's status as its batch sees it, the same change it publishes on its batch's stream; null
    /// for a message outside any batch or with no message. A batch that may have missed a change asks with this.</summary>
    [Alias("GetLetterStatus")] Task<LetterStatusChanged?> GetLetterStatus();

    /// <summary>A file of the message by its place (see <see cref="DocumentKey"/>) as the message holds it: its bytes, its
    /// reference into the document store, or its location; null when there is no such message or file.</summary>
    [Alias("GetDocumentFile")] Task<DocumentFile?> GetDocumentFile(int document, int file);

    /// <summary>Deletes the documents stored under this message's id unless a message was accepted with them: what an
    /// intake that failed before its message was accepted leaves in the document store.</summary>
    [Alias("DiscardDocuments")] Task DiscardDocuments();

    /// <summary>Delivers a message from the Virk mailbox to where the move routed it; the resend flow starts afresh
    /// there. A message not in the Virk mailbox, or moved by this move before, is left as it is.</summary>
    [Alias("MoveFromVirk")] Task MoveFromVirk(Guid moveId, RouteDecision route);

    /// <summary>What a reply to this letter must agree with; null when there is no such letter.</summary>
    [Alias("GetReplyTerms")] Task<ReplyTerms?> GetReplyTerms();
}

/// <summary>An organisation (CVR): its receiver systems, contact points and Virk mailbox. Keyed by CVR.</summary>
[Alias("dp.IOrganisationGrain")]
public interface IOrganisationGrain : IGrainWithStringKey
{
    [Alias("Register")] Task<OrganisationView> Register(OrganisationRegistration registration);
    [Alias("UpsertReceiverSystem")] Task<OrganisationView> UpsertReceiverSystem(ReceiverSystemRegistration registration);
    [Alias("UpsertContactPoint")] Task<OrganisationView> UpsertContactPoint(ContactPoint contactPoint);
    [Alias("GetView")] Task<OrganisationView?> GetView();
    [Alias("Route")] Task<RouteDecision> Route(RouteRequest request);
    [Alias("GetReceiverSystemSettings")] Task<ReceiverSystemSettings?> GetReceiverSystemSettings(string systemId);
    [Alias("ReceiverSystemStateChanged")] Task ReceiverSystemStateChanged(string systemId, bool active);
    /// <summary>The Virk mailbox's letters the filter takes, oldest first.</summary>
    [Alias("ListVirkMailbox")] Task<VirkMailboxPage> ListVirkMailbox(VirkMailboxFilter filter, int skip, int take);
    /// <summary>Replaces the organisation's routing rules for post by tagged data.</summary>
    [Alias("SetRoutingRules")] Task<OrganisationView> SetRoutingRules(IReadOnlyList<RoutingRule> rules);
}

/// <summary>One move of letters out of a Virk mailbox, keyed by the move's id: it takes the letters out of the mailbox
/// and hands each back to its message grain, resuming after a crash where it was.</summary>
[Alias("dp.IVirkMoveGrain")]
public interface IVirkMoveGrain : IGrainWithGuidKey, IWakeUpTarget
{
    /// <summary>Makes the move and starts delivering its letters; a repeat answers the move as it was made.</summary>
    [Alias("Move")] Task<VirkMove> Move(VirkMove move, VirkMoveRequest request);
}

/// <summary>A receiver system, keyed "cvr/systemId" (<see cref="ReceiverSystemKey"/>). It aggregates receipts over
/// a rolling window and decides deactivation.</summary>
[Alias("dp.IReceiverSystemGrain")]
public interface IReceiverSystemGrain : IGrainWithStringKey, IWakeUpTarget
{
    [Alias("RecordOutcome")] Task RecordOutcome(DeliveryOutcome outcome);
    /// <summary>Positive receipts on letters delivered in bulk, counted together.</summary>
    [Alias("RecordPositives")] Task RecordPositives(int count, DateTimeOffset at);
    /// <summary>E-mails the system's technical and business contacts, once per notice kind and message.</summary>
    [Alias("NotifyContacts")] Task NotifyContacts(ContactNotice notice);
    [Alias("Reactivate")] Task<ReceiverSystemStatus> Reactivate();
    [Alias("GetStatus")] Task<ReceiverSystemStatus> GetStatus();
}

/// <param name="Pending">Wake-ups waiting, due or not.</param>
/// <param name="Due">Wake-ups whose time has come and that have not yet been handled.</param>
/// <param name="Lateness">How late the wake-ups fired by the shards' current activations were.</param>
[GenerateSerializer, Immutable, Alias("dp.ScheduleCounts")]
public sealed record ScheduleCounts([property: Id(0)] int Pending, [property: Id(1)] int Due, [property: Id(2)] WakeUpLateness Lateness)
{
    public static ScheduleCounts None { get; } = new(0, 0, WakeUpLateness.None);

    public static ScheduleCounts operator +(ScheduleCounts a, ScheduleCounts b) => new(a.Pending + b.Pending, a.Due + b.Due, a.Lateness + b.Lateness);
}

/// <summary>One shard of the durable wake-up schedule.</summary>
[Alias("dp.IWakeUpSchedulerGrain")]
public interface IWakeUpSchedulerGrain : IGrainWithIntegerKey
{
    /// <summary>Stores the wake-up; it is durable once this returns. Scheduling the same target and time again changes nothing.</summary>
    [Alias("Schedule")] Task Schedule(GrainId target, DateTimeOffset due);
    [Alias("Counts")] Task<ScheduleCounts> Counts();
    /// <summary>Activates the shard, so what came due while no silo ran fires at once rather than at its keep-alive reminder.</summary>
    [Alias("Resume")] Task Resume();
}

/// <summary>The durable e-mail outbox.</summary>
[Alias("dp.IEmailOutboxGrain")]
public interface IEmailOutboxGrain : IGrainWithIntegerKey, IWakeUpTarget
{
    /// <summary>Stores the e-mail for sending; an e-mail whose id was seen before is ignored.</summary>
    [Alias("Enqueue")] Task Enqueue(OutboxEmail email);
    [Alias("GetStatus")] Task<OutboxStatus> GetStatus();
}
