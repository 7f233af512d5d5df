namespace DigitalPost.Contracts;

// Retention (sletning efter opbevaringsperioden) and erasure of one recipient's personal data (GDPR article 17).

/// <summary>What one run of the retention job deleted for one sender: everything of its batches described before
/// <see cref="Before"/>, and its citizens' mailbox letters and webhook events stored before then.</summary>
[GenerateSerializer, Immutable, Alias("dp.SenderRetention")]
public sealed record SenderRetention(
    [property: Id(0)] string SenderId,
    [property: Id(1)] int RetentionDays,
    [property: Id(2)] DateTimeOffset Before,
    [property: Id(3)] int Batches,
    [property: Id(4)] long Letters,
    [property: Id(5)] long ArchiveEntries,
    [property: Id(6)] long PrintJobs,
    [property: Id(7)] long MailboxLetters,
    [property: Id(8)] long NemSmsLetters,
    [property: Id(9)] long WebhookRuns,
    /// <summary>Messages sent one at a time (not in a batch) accepted before then: their grain state, archive entries,
    /// print jobs and documents.</summary>
    [property: Id(10)] long SingleMessages = 0);

[GenerateSerializer, Immutable, Alias("dp.RetentionRun")]
public sealed record RetentionRun(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] IReadOnlyList<SenderRetention> Senders);

/// <summary>What an erasure removed, store by store.</summary>
[GenerateSerializer, Immutable, Alias("dp.ErasureReport")]
public sealed record ErasureReport(
    [property: Id(0)] RecipientKind Kind,
    [property: Id(1)] long Letters,
    [property: Id(2)] long ArchiveEntries,
    [property: Id(3)] long PrintJobs,
    [property: Id(4)] long MailboxLetters,
    [property: Id(5)] long NemSmsLetters,
    [property: Id(6)] long Documents,
    [property: Id(7)] long RegistryCitizens,
    [property: Id(8)] long RegistryGuardianEntries,
    [property: Id(9)] long RegistryCompanies,
    [property: Id(10)] long RegistryPNumbers,
    /// <summary>Message grains whose state (the message and its history) was cleared.</summary>
    [property: Id(11)] long MessageStates = 0,
    /// <summary>Rows of batches' chunks (the CSV's rows) that named the recipient, as recipient or copy.</summary>
    [property: Id(12)] long BatchRows = 0,
    /// <summary>Notifications of new post queued or sent to the recipient (with their e-mail address or mobile number).</summary>
    [property: Id(13)] long Notifications = 0);

/// <summary>A grain whose stored state retention and erasure clear: it forgets its state and leaves memory.</summary>
[Alias("dp.IForgettable")]
public interface IForgettable : IAddressable
{
    /// <summary>Clears the grain's stored state (a state someone already deleted in storage is fine) and deactivates it;
    /// whether it had a stored state.</summary>
    [Alias("Forget")] Task<bool> Forget();
}

/// <summary>The retention job and erasures: one activation in the cluster (key 0), so the job runs once however many
/// silos there are. It wakes itself every <c>Retention:Interval</c> on the platform's clock.</summary>
[Alias("dp.IRetentionGrain")]
public interface IRetentionGrain : IGrainWithIntegerKey, IWakeUpTarget
{
    /// <summary>Makes sure the job's next run is scheduled; every silo calls it as it starts.</summary>
    [Alias("Start")] Task Start();
    /// <summary>Runs the job now and answers what it deleted.</summary>
    [Alias("Run")] Task<RetentionRun> Run();
    /// <summary>The last run, if any since the activation started.</summary>
    [Alias("LastRun")] Task<RetentionRun?> LastRun();
    /// <summary>Erases every trace of the recipient (a CPR or CVR number, checked by the caller) from the stores.</summary>
    [Alias("Erase")] Task<ErasureReport> Erase(RecipientKind kind, string recipientId);
}
