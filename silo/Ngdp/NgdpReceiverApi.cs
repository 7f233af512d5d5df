using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.Domain.Memo;
using DigitalPost.Infrastructure;
using DigitalPost.Ngdp;
using DigitalPost.Silo.Auth;

namespace DigitalPost.Silo.Ngdp;

/// <summary>The NgDP face for receiver systems registered as <c>REST_PUSH</c> or <c>REST_PULL</c>: they answer each MeMo
/// with an NgDP Receipt here, as they would to NgDP, rather than with the platform's own receipt at <c>/api/receipts</c>.
/// Both land on the same business receipt, so the resend flow and the rolling window see one kind. A pull system also
/// lists, fetches and deletes its waiting MeMos here (<see cref="IPullQueue"/>); another system's are not found.</summary>
public static class NgdpReceiverApi
{
    public static void MapNgdpReceiverApi(this IEndpointRouteBuilder endpoints)
    {
        var memos = endpoints.MapGroup($"{NgdpApi.Prefix}/memos").RequireReceiverSystem();
        memos.MapGet("/", ListWaiting);
        memos.MapGet("/{id}", Fetch);
        memos.MapDelete("/{id}", Delete);
        memos.MapPost("/{id:guid}/receipt", TakeReceipt);
    }

    private static string SystemOf(HttpContext http) => http.User.ReceiverSystemKeyOf()!;

    private static async Task<IResult> ListWaiting(HttpContext http, IPullQueue queue, string? page, string? size)
    {
        var (number, pageSize, error) = NgdpApi.Paging(page, size);
        if (error is not null) return error;
        var found = await queue.Page(SystemOf(http), number, pageSize);
        return NgdpJson.Json(NgdpApi.PageOf(found.MessageUuids, number, pageSize, found.Total));
    }

    /// <summary>The MeMo XML with its Content-Length, as a REST_PUSH system gets it pushed: stored documents are written
    /// onto the response from the document store as they are read, and a merge letter's PDF is laid out now.</summary>
    private static async Task<IResult> Fetch(string id, HttpContext http, IPullQueue queue, IDocumentStore documents, IGrainFactory grains)
    {
        if (!Guid.TryParse(id, out var uuid) || await queue.Find(SystemOf(http), uuid) is not { } entry) return NotWaiting(id);
        var message = MemoMapping.NeedsLetterPdf(entry.Message) ? await new LetterPdfs(grains).Inline(entry.Message) : entry.Message;
        var memo = await MemoPushContent.Create(message, MemoMapping.Extras(entry.AvailableAt), documents, http.RequestAborted);
        http.Response.ContentLength = memo.Headers.ContentLength;
        return Results.Stream(body => memo.CopyToAsync(body, http.RequestAborted), memo.Headers.ContentType!.ToString());
    }

    /// <summary>Off the list without a receipt: the message then has none, and its deadline runs out as any other's.</summary>
    private static async Task<IResult> Delete(string id, HttpContext http, IPullQueue queue) =>
        Guid.TryParse(id, out var uuid) && await queue.Remove(SystemOf(http), uuid) ? Results.NoContent() : NotWaiting(id);

    private static IResult NotWaiting(string id) =>
        NgdpJson.Error(StatusCodes.Status404NotFound, "NOT_FOUND", $"No MeMo {NgdpApi.Short(id)} waits for this receiver system");

    private static async Task<IResult> TakeReceipt(Guid id, HttpContext http, IGrainFactory grains, IPullQueue queue)
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
        if (outcome is ReceiptOutcome.UnknownMessage or ReceiptOutcome.NotPushedToThisSystem)
            return NgdpJson.Error(StatusCodes.Status404NotFound, "NOT_FOUND", $"No message {id} was sent to this receiver system");
        // Answered: a pull system's MeMo leaves its list (a push system's was never on one).
        await queue.Remove(SystemOf(http), id);
        return NgdpJson.Json(new { outcome });
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
