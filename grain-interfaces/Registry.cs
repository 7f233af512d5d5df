namespace DigitalPost.Contracts;

// The recipient registry: who can receive Digital Post, as Digital Post's contact lookup (kontaktopslag) answers it.

/// <summary>A citizen's Digital Post registration.</summary>
[GenerateSerializer, Alias("dp.RegistrationStatus")]
public enum RegistrationStatus
{
    Registered,
    /// <summary>Not yet confirmed: for example within about 30 days of turning 15.</summary>
    NotYetConfirmed,
    /// <summary>Exempt (fritaget) from Digital Post: gets physical post.</summary>
    Exempt,
    /// <summary>The mailbox is closed (for example the citizen died or emigrated).</summary>
    Closed,
}

[GenerateSerializer, Immutable, Alias("dp.Citizen")]
public sealed record Citizen(
    [property: Id(0)] string Cpr,
    [property: Id(1)] string Name,
    [property: Id(2)] RegistrationStatus Status,
    [property: Id(3)] bool NemSms,
    /// <summary>CPR numbers of the citizen's guardians (værger, forældremyndighedsindehavere).</summary>
    [property: Id(4)] IReadOnlyList<string> Guardians,
    /// <summary>Postal address, one line per element.</summary>
    [property: Id(5)] IReadOnlyList<string> Address,
    /// <summary>Where the citizen chose to be told of new post (advisering) by e-mail; null: not by e-mail.</summary>
    [property: Id(6)] string? NotificationEmail = null,
    /// <summary>The mobile number (E.164, +45...) the citizen chose to be told of new post on by SMS; null: not by SMS.</summary>
    [property: Id(7)] string? NotificationMobile = null);

[GenerateSerializer, Immutable, Alias("dp.Company")]
public sealed record Company(
    [property: Id(0)] string Cvr,
    [property: Id(1)] string Name,
    [property: Id(2)] bool MailboxActive,
    /// <summary>The company's production units (P-numre).</summary>
    [property: Id(3)] IReadOnlyList<string> PNumbers,
    [property: Id(4)] IReadOnlyList<string> Address);

[GenerateSerializer, Alias("dp.RecipientVerdict")]
public enum RecipientVerdict
{
    /// <summary>Has an active Digital Post mailbox.</summary>
    DigitalPost,
    /// <summary>Known, but without an active mailbox (exempt, not yet confirmed, closed).</summary>
    NoActiveMailbox,
    /// <summary>Not in the registry.</summary>
    Unknown,
}

/// <summary>The answer of a contact lookup for one CPR or CVR number.</summary>
[GenerateSerializer, Immutable, Alias("dp.RecipientInfo")]
public sealed record RecipientInfo(
    [property: Id(0)] RecipientKind Kind,
    [property: Id(1)] string Id,
    [property: Id(2)] RecipientVerdict Verdict,
    [property: Id(3)] string? Name,
    [property: Id(4)] RegistrationStatus? Status,
    [property: Id(5)] bool NemSms,
    /// <summary>Age in whole years from the CPR number, for citizens.</summary>
    [property: Id(6)] int? Age,
    [property: Id(7)] IReadOnlyList<string> Guardians,
    [property: Id(8)] IReadOnlyList<string> PNumbers,
    [property: Id(9)] IReadOnlyList<string> Address)
{
    public bool IsMinor => Age is < 18;
}

[GenerateSerializer, Immutable, Alias("dp.RegistryCounts")]
public sealed record RegistryCounts([property: Id(0)] int Citizens, [property: Id(1)] int Companies);
