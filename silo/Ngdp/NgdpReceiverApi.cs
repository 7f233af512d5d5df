using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.Ngdp;
using DigitalPost.Silo.Auth;

namespace DigitalPost.Silo.Ngdp;

/// <summary>The NgDP face for receiver systems registered as <c>REST_PUSH</c> or <c>REST_PULL</c>: they answer each MeMo
/// with an NgDP Receipt here, as they would to NgDP, rather than with the platform's own receipt at <c>/api/receipts</c>.
/// Both land on the same business receipt, so the resend flow and the rolling window see one kind.</summary>
public static class NgdpReceiverApi
{
    public static void MapNgdpReceiverApi(this IEndpointRouteBuilder endpoints)
    {
        var memos = endpoints.MapGroup($"{NgdpApi.Prefix}/memos").RequireReceiverSystem();
        memos.MapPost("/{id:guid}/receipt", TakeReceipt);
    }

    private static async Task<IResult> TakeReceipt(Guid id, HttpContext http, IGrainFactory grains)
    {
        BusinessReceiptBody? body;
        try
        {
            body = await http.Request.ReadFromJsonAsync<BusinessReceiptBody>(NgdpJson.Options, http.RequestAborted);
        }
        catch (JsonException e)
        {
            return NgdpJson.Error(StatusCodes.Status400BadRequest, "INVALID", "The receipt is not valid JSON",
                [new FieldError("receipt", e.Path ?? "$", "MALFORMED", e.Message, null)]);
        }
        if (body?.ReceiptStatus is not { } status)
            return NgdpJson.Error(StatusCodes.Status400BadRequest, "INVALID", "The receipt has no receiptStatus",
                [new FieldError("receipt", "receiptStatus", "MISSING", "is required: COMPLETED, or INVALID or NOT_ALLOWED with an errorCode", null)]);
        if (body.MessageUUID is { } named && named != id)
            return NgdpJson.Error(StatusCodes.Status409Conflict, "CONFLICT", "The receipt names another message than the path",
                [new FieldError("receipt", "messageUUID", "MISMATCH", $"is not the message {id} of the path", named.ToString())]);
        if (ToBusinessReceipt(id, status, body.ErrorCode, body.ErrorMessage) is not { } receipt)
            return NgdpJson.Error(StatusCodes.Status422UnprocessableEntity, "UNPROCESSABLE", "RECEIVED is not a business receipt",
                [new FieldError("receipt", "receiptStatus", "NOT_FINAL", "a receiver system answers COMPLETED, or INVALID or NOT_ALLOWED with an errorCode", status.ToString())]);

        var outcome = (await Api.ApplyReceipts(grains, http, [receipt]))[0];
        // A system is not told whether a message it was never pushed exists.
        return outcome is ReceiptOutcome.UnknownMessage or ReceiptOutcome.NotPushedToThisSystem
            ? NgdpJson.Error(StatusCodes.Status404NotFound, "NOT_FOUND", $"No message {id} was sent to this receiver system")
            : NgdpJson.Json(new { outcome });
    }

    /// <summary>COMPLETED without an error code is positive; with one, or INVALID or NOT_ALLOWED, negative with that code
    /// (a virus reported as <c>VIRUS</c> stops the resend flow). RECEIVED says nothing of the business outcome: null.</summary>
    public static BusinessReceipt? ToBusinessReceipt(Guid messageUuid, ReceiptStatus status, string? errorCode, string? errorMessage) => status switch
    {
        ReceiptStatus.Completed when string.IsNullOrWhiteSpace(errorCode) => new BusinessReceipt(messageUuid, true),
        ReceiptStatus.Completed or ReceiptStatus.Invalid or ReceiptStatus.NotAllowed =>
            new BusinessReceipt(messageUuid, false, string.IsNullOrWhiteSpace(errorCode) ? StatusName(status) : errorCode, errorMessage),
        _ => null,
    };

    private static string StatusName(ReceiptStatus status) => JsonSerializer.Serialize(status, NgdpJson.Options).Trim('"');
}

/// <summary>An NgDP Receipt as a receiver system sends it: only the status, and the error where there is one, count.</summary>
public sealed record BusinessReceiptBody(Guid? MessageUUID, ReceiptStatus? ReceiptStatus, string? ErrorCode, string? ErrorMessage,
    Guid? TransmissionId = null, string? MessageId = null, DateTimeOffset? TimeStamp = null);
