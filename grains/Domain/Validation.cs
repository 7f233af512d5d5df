using System.Net.Mail;
using DigitalPost.Contracts;

namespace DigitalPost.Domain;

/// <summary>A rejected input, naming the field (as a JSON path) and what is wrong with it.</summary>
[GenerateSerializer, Immutable, Alias("dp.ValidationError")]
public sealed record ValidationError([property: Id(0)] string Field, [property: Id(1)] string Reason)
{
    public override string ToString() => $"{Field}: {Reason}";
}

public static class Cvr
{
    private static readonly int[] Weights = [2, 7, 6, 5, 4, 3, 2, 1];

    /// <summary>Eight digits whose weighted sum (2,7,6,5,4,3,2,1) is divisible by 11.</summary>
    public static bool IsValid(string? value)
    {
        if (value is not { Length: 8 } || !value.All(char.IsAsciiDigit)) return false;
        var sum = 0;
        for (var i = 0; i < 8; i++) sum += (value[i] - '0') * Weights[i];
        return sum % 11 == 0;
    }

    public static string? Check(string? value) => IsValid(value) ? null : $"'{value}' is not a CVR number (8 digits, modulus 11)";

    /// <summary>The CVR number made of <paramref name="sevenDigits"/> and the digit that makes it pass modulus 11, or
    /// null where no digit does: synthetic data.</summary>
    public static string? WithCheckDigit(string sevenDigits) => Modulus11.WithCheckDigit(sevenDigits, Weights);
}

/// <summary>Numbers whose digits, weighted, sum to a multiple of 11, the last digit weighing 1 (CPR and CVR numbers).</summary>
public static class Modulus11
{
    /// <summary><paramref name="digits"/> followed by the digit that completes the check, or null where none does
    /// (about one in eleven).</summary>
    public static string? WithCheckDigit(string digits, IReadOnlyList<int> weights)
    {
        if (digits.Length != weights.Count - 1 || !digits.All(char.IsAsciiDigit))
            throw new ArgumentException($"{weights.Count - 1} digits", nameof(digits));
        var sum = 0;
        for (var i = 0; i < digits.Length; i++) sum += (digits[i] - '0') * weights[i];
        var check = (11 - sum % 11) % 11;
        return check < 10 ? digits + (char)('0' + check) : null;
    }
}

public static class MessageRules
{
    /// <summary>The largest message Digital Post accepts: 99.5 MB, in decimal megabytes.</summary>
    public const long MaxMessageBytes = 99_500_000;

    public static IReadOnlyList<ValidationError> Validate(Message message, DateTimeOffset now, ResendFlowOptions options)
    {
        var errors = new List<ValidationError>();
        void Fail(string field, string reason) => errors.Add(new(field, reason));

        // JSON binding leaves a missing or null object null whatever the contract's nullability says.
        if (message.Header is not { } header) Fail("header", "is missing");
        else ValidateHeader(header, message.Channel, now, options, Fail);
        ValidateBody(message.Body, Fail);
        return errors;
    }

    private static void ValidateHeader(MessageHeader header, DeliveryChannel channel, DateTimeOffset now, ResendFlowOptions options, Action<string, string> fail)
    {
        if (header.MessageUuid == Guid.Empty) fail("header.messageUuid", "is missing");
        if (string.IsNullOrWhiteSpace(header.Label)) fail("header.label", "is missing");
        if (header.Sender is { IdType: RecipientIdType.Cpr } citizen)
        {
            if (MassSending.Cpr.Check(citizen.SenderId) is { IsValid: false, Error: var citizenError })
                fail("header.sender.senderId", citizenError ?? "is not a CPR number");
        }
        else if (Cvr.Check(header.Sender?.SenderId) is { } senderError) fail("header.sender.senderId", senderError);
        if (header.Recipient is null) fail("header.recipient", "is missing");
        else if (header.Recipient.IdType == RecipientIdType.Cpr)
        {
            if (MassSending.Cpr.Check(header.Recipient.RecipientId) is { IsValid: false, Error: var cprError })
                fail("header.recipient.recipientId", cprError ?? "is not a CPR number");
        }
        else if (Cvr.Check(header.Recipient.RecipientId) is { } recipientError) fail("header.recipient.recipientId", recipientError);
        if (header.Recipient?.ProductionUnit is { } pNumber && MassSending.PNumber.Check(pNumber) is { } pError)
            fail("header.recipient.productionUnit", pError);
        if (channel == DeliveryChannel.PhysicalPost && header.Recipient?.Address is not { Count: > 0 })
            fail("header.recipient.address", "physical post needs the recipient's postal address");
        if (channel == DeliveryChannel.NemSms && header.Recipient?.IdType != RecipientIdType.Cpr)
            fail("channel", "NemSMS reaches citizens (CPR) only");
        if (header.DoNotDeliverUntilDate is { } valoer && valoer > now + options.MaxValoerAhead)
            fail("header.doNotDeliverUntilDate", $"{valoer:O} is more than {Durations.Describe(options.MaxValoerAhead)} ahead");
    }

    private static void ValidateBody(MessageBody? body, Action<string, string> fail)
    {
        if (body?.MainDocument is null)
        {
            fail("body.mainDocument", "is missing");
            return;
        }
        var documents = new List<(string Path, Document? Doc)> { ("body.mainDocument", body.MainDocument) };
        documents.AddRange((body.AdditionalDocuments ?? []).Select((d, i) => ($"body.additionalDocuments[{i}]", (Document?)d)));
        documents.AddRange((body.TechnicalDocuments ?? []).Select((d, i) => ($"body.technicalDocuments[{i}]", (Document?)d)));
        long bytes = 0;
        foreach (var (path, doc) in documents)
        {
            if (doc is null)
            {
                fail(path, "is null; a document is an object with a label and files");
                continue;
            }
            if (doc.Files is not { Count: > 0 }) fail($"{path}.files", "a document needs at least one file");
            foreach (var (file, i) in (doc.Files ?? []).Select((f, i) => (f, i)))
            {
                if (file is null)
                {
                    fail($"{path}.files[{i}]", "is null; a file is an object with a filename, an encodingFormat and its content");
                    continue;
                }
                if (string.IsNullOrWhiteSpace(file.Filename)) fail($"{path}.files[{i}].filename", "is missing");
                if (string.IsNullOrWhiteSpace(file.EncodingFormat)) fail($"{path}.files[{i}].encodingFormat", "is missing");
                bytes += file.IsStored() ? file.Length ?? 0 : file.Content?.LongLength ?? 0;
            }
            foreach (var (action, i) in (doc.Actions ?? []).Select((a, i) => (a, i)))
            {
                if (action is null)
                {
                    fail($"{path}.actions[{i}]", "is null; an action is an object with a label and an entryPoint or a reservation");
                    continue;
                }
                if (string.IsNullOrWhiteSpace(action.Label)) fail($"{path}.actions[{i}].label", "is missing");
                if (action.EntryPoint is null && string.IsNullOrWhiteSpace(action.Reservation))
                    fail($"{path}.actions[{i}]", "needs an entryPoint or a reservation");
                if (action.StartDateTime is { } start && action.EndDateTime is { } end && end < start)
                    fail($"{path}.actions[{i}].endDateTime", "is before startDateTime");
            }
        }
        if (bytes > MaxMessageBytes) fail("body", $"the message is {bytes:N0} bytes; at most {MaxMessageBytes:N0} (99.5 MB) are allowed");
    }
}

public static class OrganisationRules
{
    public const int MaxReceiverSystems = 5;

    public static IReadOnlyList<ValidationError> ValidateReceiverSystem(ReceiverSystemRegistration registration, int otherSystems)
    {
        var errors = new List<ValidationError>();
        if (string.IsNullOrWhiteSpace(registration.SystemId) || registration.SystemId.Contains('/'))
            errors.Add(new("systemId", "is missing or contains '/'"));
        if (registration.Endpoint is null && registration.Protocol != ReceiverProtocol.RestPull)
            errors.Add(new("endpoint", $"is required: a {registration.Protocol} system is pushed to (only a RestPull system fetches its post)"));
        else if (registration.Endpoint is { } given && (!given.IsAbsoluteUri || (given.Scheme != Uri.UriSchemeHttp && given.Scheme != Uri.UriSchemeHttps)))
            errors.Add(new("endpoint", $"'{given}' is not an absolute http(s) URL"));
        if (!Enum.IsDefined(registration.Protocol)) errors.Add(new("protocol", $"'{registration.Protocol}' is not PlatformJson, RestPush or RestPull"));
        if (!IsEmail(registration.TechnicalContact)) errors.Add(new("technicalContact", $"'{registration.TechnicalContact}' is not an e-mail address"));
        if (registration.BusinessContact is { } business && !IsEmail(business)) errors.Add(new("businessContact", $"'{business}' is not an e-mail address"));
        if (otherSystems >= MaxReceiverSystems)
            errors.Add(new("systemId", $"an organisation has at most {MaxReceiverSystems} receiver systems"));
        return errors;
    }

    public const int MaxRoutingRules = 100;

    /// <summary>Each rule tests one tag (a case id or a KLE number prefix) and names a contact point the organisation has.</summary>
    public static IReadOnlyList<ValidationError> ValidateRoutingRules(IReadOnlyList<RoutingRule> rules, IReadOnlyCollection<string> contactPointIds)
    {
        var errors = new List<ValidationError>();
        if (rules.Count > MaxRoutingRules) errors.Add(new("rules", $"has {rules.Count} rules; at most {MaxRoutingRules}"));
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            if (string.IsNullOrWhiteSpace(rule.CaseIdPrefix) == string.IsNullOrWhiteSpace(rule.KleNumberPrefix))
                errors.Add(new($"[{i}]", "needs either a caseIdPrefix or a kleNumberPrefix, not both"));
            if (string.IsNullOrWhiteSpace(rule.ContactPointId) || !contactPointIds.Contains(rule.ContactPointId))
                errors.Add(new($"[{i}].contactPointId", $"'{rule.ContactPointId}' is not a contact point of the organisation"));
        }
        return errors;
    }

    private static bool IsEmail(string? value) => MailAddress.TryCreate(value, out var address) && address.Address == value;
}

/// <summary>Thrown by a grain when its input breaks a rule; the HTTP API turns it into a 400 naming each field.</summary>
/// <remarks>The reasons may quote the refused value, for the caller. The message, which Orleans logs when a grain
/// throws, has CPR-shaped numbers masked.</remarks>
[GenerateSerializer, Alias("dp.ValidationException")]
public sealed class ValidationException : Exception
{
    public ValidationException(IReadOnlyList<ValidationError> errors) : base(MassSending.Cpr.Redact(string.Join("; ", errors))) => Errors = [.. errors];

    [Id(0)] public ValidationError[] Errors { get; private set; }
}
