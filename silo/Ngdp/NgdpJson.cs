using System.Text.Json;
using System.Text.Json.Serialization;
using DigitalPost.Ngdp;

namespace DigitalPost.Silo.Ngdp;

/// <summary>JSON as NgDP writes it: camelCase members, enum values as their upper-case names, times in ISO 8601 with
/// their offset.</summary>
public static class NgdpJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseUpper, allowIntegerValues: false) },
    };

    public static IResult Json<T>(T value, int status = StatusCodes.Status200OK) => Results.Json(value, Options, statusCode: status);

    public static IResult Error(int status, string code, string message, IReadOnlyList<FieldError>? fieldErrors = null) =>
        Json(new ErrorMessage(code, message, fieldErrors ?? []), status);
}

public sealed record Receipt(Guid? TransmissionId, Guid? MessageUUID, string? MessageId, string? ErrorCode, string? ErrorMessage,
    DateTimeOffset TimeStamp, ReceiptStatus ReceiptStatus)
{
    public static Receipt Of(NgdpReceipt receipt) => new(receipt.TransmissionId, receipt.MessageUuid, receipt.MessageId,
        receipt.ErrorCode, receipt.ErrorMessage, receipt.TimeStamp, receipt.Status);
}

/// <summary>A receipt in <c>receipts-bulk</c>: with its id (the message's UUID, as <c>receipts/{id}</c> names it).</summary>
public sealed record ReceiptWithId(Guid Id, Guid TransmissionId, Guid MessageUUID, string? MessageId, string? ErrorCode, string? ErrorMessage,
    DateTimeOffset TimeStamp, ReceiptStatus ReceiptStatus)
{
    public static ReceiptWithId Of(NgdpReceipt r) => new(r.MessageUuid, r.TransmissionId, r.MessageUuid, r.MessageId, r.ErrorCode, r.ErrorMessage, r.TimeStamp, r.Status);
}

public sealed record FieldError(string Resource, string Field, string Code, string Message, string? RejectedValue);

public sealed record ErrorMessage(string Code, string Message, IReadOnlyList<FieldError> FieldErrors);

public sealed record PagingArguments(int Page, int Size);

public sealed record PagingResultUUID(IReadOnlyList<Guid> Content, int Number, int Size, PagingArguments? Previous, PagingArguments? Next,
    long TotalElements, long TotalPages);

public sealed record ReceiptsBulk(int CurrentPage, long TotalPages, int ElementsOnPage, long TotalElements, IReadOnlyList<ReceiptWithId> Receipts);

public enum ContactType { Company, Citizen, Unknown }

public enum PublicRegistrationStatus { Registered, Exempt, Closed, Unknown }

public sealed record MailboxSubscription(string RegistrationStatus, PublicRegistrationStatus PublicRegistrationStatus);

public sealed record Contact(Guid Id, ContactType Type, string? CprNumber, string? CvrNumber, MailboxSubscription MailboxSubscription, bool NemSmsSubscription);

public sealed record ContactPage(IReadOnlyList<Contact> Contacts, int CurrentPage, int TotalPages, int ElementsOnPage, int TotalElements, PagingArguments? Next);
