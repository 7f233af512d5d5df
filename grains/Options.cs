namespace DigitalPost.Infrastructure;

public static class StorageNames
{
    /// <summary>Grain state of organisations, receiver systems, messages, the schedule and the outbox.</summary>
    public const string Platform = "platform";
    /// <summary>Message grains' state: a batch's letter's on its row in the letter store (<see cref="LetterRowStorage"/>),
    /// a single message's in <see cref="Platform"/>.</summary>
    public const string Messages = "messages";
}

/// <summary>The durable wake-up schedule: a few scheduler grains, each checking its due entries on a short tick.</summary>
public sealed class SchedulerOptions
{
    public const string Section = "Scheduler";

    public int Shards { get; set; } = 8;

    /// <summary>How often each shard looks for due wake-ups: the bound on how late one fires.</summary>
    public TimeSpan Tick { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The reminder that reactivates a shard after a restart (Orleans' minimum is one minute).</summary>
    public TimeSpan KeepAlivePeriod { get; set; } = TimeSpan.FromMinutes(1);

    public int MaxConcurrentWakeUps { get; set; } = 256;

    /// <summary>A wake-up whose target failed is tried again after this long.</summary>
    public TimeSpan FailedWakeUpRetry { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often each silo makes sure every shard is active, so a shard lost with a silo is back this soon.</summary>
    public TimeSpan WatchInterval { get; set; } = TimeSpan.FromSeconds(10);
}

public sealed class SmtpOptions
{
    public const string Section = "Smtp";

    /// <summary>The SMTP server. Empty: e-mails are written as .eml files to <see cref="PickupDirectory"/>.</summary>
    public string? Host { get; set; }
    public int Port { get; set; } = 25;
    public bool StartTls { get; set; }
    public string? Username { get; set; }
    public string? Password { get; set; }
    public string From { get; set; } = "Digital Post <noreply@digitalpost.local>";
    public string PickupDirectory { get; set; } = "data/mail";
}

/// <summary>How merge batches are taken in and sent.</summary>
/// <summary>Loading the recipient registry.</summary>
public sealed class RegistryOptions
{
    public const string Section = "Registry";

    /// <summary>CSV files loaded when the silo starts (relative to the silo's folder): a demonstration or a test
    /// environment starts with its recipients known.</summary>
    public string? CitizensFile { get; set; }
    public string? CompaniesFile { get; set; }

    /// <summary>Rows of a registry file checked and stored together, in one transaction: large enough that a national
    /// file is a few hundred statements, small enough that a chunk's records are a few tens of megabytes.</summary>
    public int ChunkRows { get; set; } = 50_000;
}

public sealed class MassSendingOptions
{
    public const string Section = "MassSending";

    /// <summary>Rows per stored chunk; a chunk is also the unit of dispatch.</summary>
    public int ChunkSize { get; set; } = 1000;

    /// <summary>Partitions a batch is sent by, at most (never more than it has chunks): each owns a share of its chunks,
    /// and they are placed round the active silos by their number, so a batch is sent by as many silos as it has
    /// partitions, each silo taking an equal share give or take one partition.</summary>
    public int Partitions { get; set; } = 8;

    /// <summary>Chunks a partition owns at least: a smaller batch has fewer partitions (one below this many chunks).</summary>
    public int ChunksPerPartition { get; set; } = 8;

    /// <summary>Chunks a partition dispatches in one step.</summary>
    public int ChunksPerDispatch { get; set; } = 8;

    /// <summary>Messages submitted at once by one batch.</summary>
    public int DispatchConcurrency { get; set; } = 64;

    /// <summary>Delivered letters a batch appends to the archive in one statement.</summary>
    public int ArchiveBatch { get; set; } = 5000;

    /// <summary>Bulk pushes under way at once from one batch.</summary>
    public int PushConcurrency { get; set; } = 8;

    /// <summary>How often a batch stores its letters' states and passes status changes on to the webhook and archive.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A sending batch that hears of no letter's change for this long asks its open letters' messages for
    /// their status: a change published on the in-memory stream is lost when the silo holding it dies. The interval
    /// doubles (up to an hour) while asking finds nothing, so letters waiting days in a resend flow cost little.</summary>
    public TimeSpan ReconcileAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The key of the hash that names archive cases, so grain ids carry no CPR number. Set it in production.</summary>
    public string ArchiveKey { get; set; } = "digitalpost-development-archive-key";
}

/// <summary>The simulated remote-print provider (fjernprint).</summary>
public sealed class PrintOptions
{
    public const string Section = "Print";

    public TimeSpan PrintAfter { get; set; } = TimeSpan.FromHours(2);
    public TimeSpan HandOverAfter { get; set; } = TimeSpan.FromHours(6);
}

/// <summary>Status pushes to sender systems' webhooks.</summary>
public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    public int EventsPerPush { get; set; } = 500;
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan FirstRetry { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxRetry { get; set; } = TimeSpan.FromMinutes(10);
}
