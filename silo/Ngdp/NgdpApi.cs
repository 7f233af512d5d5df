using System.Globalization;
using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;
using DigitalPost.Domain.Memo;
using DigitalPost.Infrastructure;
using DigitalPost.Ngdp;
using DigitalPost.Silo.Auth;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace DigitalPost.Silo.Ngdp;

/// <summary>The NgDP face: NgDP's REST API for sender systems under <c>/apis/v1/</c>, so a system written against NgDP
/// sends MeMo XML here as it would there, and pages its receipts and looks up contacts the same way.</summary>
public static class NgdpApi
{
    /// <summary>The largest tar.lzma of several MeMos taken in one request (each MeMo in it at most 99.5 MB).</summary>
    public const string Prefix = "/apis/v1";
    public const long MaxArchiveBytes = 1L << 30;
    public const int MaxMemosPerTransmission = 10_000;
    public const int MaxPageSize = 1_000;
    private const int DefaultPageSize = 100;

    public static IServiceCollection AddNgdpApi(this IServiceCollection services) => services.AddSingleton<NgdpMemoIntake>();

    public static void MapNgdpApi(this IEndpointRouteBuilder endpoints)
    {
        var ngdp = endpoints.MapGroup(Prefix).RequireSender();
        ngdp.MapPost("/memos/", SendMemos).DisableAntiforgery().WithMetadata(new RequestSizeLimitAttribute(MaxArchiveBytes));
        ngdp.MapGet("/receipts/", ListReceipts);
        ngdp.MapGet("/receipts/{id}", GetReceipt);
        ngdp.MapDelete("/receipts/{id}", DeleteReceipt);
        ngdp.MapGet("/receipts-bulk/", BulkReceipts);
        ngdp.MapGet("/contacts/", FindContacts);
    }

    private static async Task<IResult> SendMemos(HttpContext http, NgdpMemoIntake intake)
    {
        var request = http.Request;
        var sender = http.Sender();
        MediaTypeHeaderValue.TryParse(request.ContentType, out var type);
        var media = type?.MediaType.Value?.ToLowerInvariant();
        if (media is "application/xml" or "text/xml")
        {
            if (request.ContentLength is { } size && size > Memo.MaxBytes)
                return NgdpJson.Error(StatusCodes.Status413PayloadTooLarge, "MESSAGE_TOO_LARGE",
                    $"The MeMo is {size.ToString("N0", CultureInfo.InvariantCulture)} bytes; at most {Memo.MaxBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes (99.5 MB) are accepted");
            Guid? expected = null;
            if (request.Query["memo-message-uuid"] is { Count: > 0 } given)
            {
                if (!Guid.TryParse(given.ToString(), out var uuid))
                    return NgdpJson.Error(StatusCodes.Status400BadRequest, "INVALID", "The request is not valid",
                        [new FieldError("request", "memo-message-uuid", "INVALID", "is not a UUID", Cpr.Redact(Short(given.ToString())))]);
                expected = uuid;
            }
            var taken = await intake.TakeOne(request.Body, expected, sender, Guid.NewGuid(), http.RequestAborted);
            return taken.Receipt is { } receipt ? NgdpJson.Json(Receipt.Of(receipt), StatusCodes.Status201Created) : NgdpJson.Json(taken.Error, taken.Status);
        }
        try
        {
            if (media == "multipart/form-data")
            {
                var form = await request.ReadFormAsync(http.RequestAborted);
                if (form.Files.GetFile("file") is not { } file)
                    return NgdpJson.Error(StatusCodes.Status400BadRequest, "INVALID", "Several MeMos are sent as a tar.lzma in the part named file",
                        [new FieldError("request", "file", "MISSING", "is missing", null)]);
                await using var archive = file.OpenReadStream();
                return NgdpJson.Json(await intake.TakeArchive(archive, sender, http.RequestAborted), StatusCodes.Status201Created);
            }
            if (media is "application/x-lzma" or "application/octet-stream")
                return NgdpJson.Json(await intake.TakeArchive(await Spool(request, http.RequestAborted), sender, http.RequestAborted), StatusCodes.Status201Created);
        }
        catch (InvalidDataException e)
        {
            return NgdpJson.Error(StatusCodes.Status400BadRequest, "INVALID", "The MeMo files cannot be read",
                [new FieldError("request", "file", "MALFORMED", e.Message, null)]);
        }
        catch (ValidationException e)
        {
            return NgdpJson.Error(StatusCodes.Status400BadRequest, "INVALID", "The MeMo files cannot be taken",
                [.. e.Errors.Select(v => new FieldError("request", v.Field, "INVALID", v.Reason, null))]);
        }
        return NgdpJson.Error(StatusCodes.Status415UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE",
            "A MeMo is sent as application/xml or text/xml; several as multipart/form-data (part file) or application/x-lzma, a tar.lzma");
    }

    /// <summary>The body to a temporary file, deleted when closed: the archive's reader reads synchronously in places,
    /// which the server's request stream does not allow.</summary>
    private static async Task<Stream> Spool(HttpRequest request, CancellationToken cancellationToken)
    {
        var spool = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        await request.Body.CopyToAsync(spool, cancellationToken);
        spool.Position = 0;
        request.HttpContext.Response.RegisterForDispose(spool);
        return spool;
    }

    private static async Task<IResult> ListReceipts(HttpContext http, INgdpReceiptStore receipts, string? page, string? size)
    {
        var (number, pageSize, error) = Paging(page, size);
        if (error is not null) return error;
        var found = await receipts.Page(http.Sender().Id, number, pageSize);
        return NgdpJson.Json(PageOf([.. found.Receipts.Select(r => r.MessageUuid)], number, pageSize, found.Total));
    }

    /// <summary>A page of ids as NgDP pages them, with the arguments of the pages before and after it.</summary>
    internal static PagingResultUUID PageOf(IReadOnlyList<Guid> content, int number, int size, long total)
    {
        var pages = Pages(total, size);
        return new PagingResultUUID(content, number, size,
            number > 0 ? new PagingArguments(Math.Min(number - 1, (int)Math.Max(pages - 1, 0)), size) : null,
            number + 1 < pages ? new PagingArguments(number + 1, size) : null, total, pages);
    }

    private static async Task<IResult> BulkReceipts(HttpContext http, INgdpReceiptStore receipts, string? page, string? size)
    {
        var (number, pageSize, error) = Paging(page, size);
        if (error is not null) return error;
        var found = await receipts.Page(http.Sender().Id, number, pageSize);
        return NgdpJson.Json(new ReceiptsBulk(number, Pages(found.Total, pageSize), found.Receipts.Count, found.Total, [.. found.Receipts.Select(ReceiptWithId.Of)]));
    }

    private static async Task<IResult> GetReceipt(HttpContext http, string id, string? delete, INgdpReceiptStore receipts)
    {
        if (!Guid.TryParse(id, out var uuid)) return NotFound(id);
        var remove = delete?.ToLowerInvariant() switch
        {
            null or "false" => false,
            "true" => true,
            _ => (bool?)null,
        };
        if (remove is null)
            return NgdpJson.Error(StatusCodes.Status400BadRequest, "INVALID", "The request is not valid",
                [new FieldError("request", "delete", "INVALID", "is not true or false", Short(delete!))]);
        var sender = http.Sender();
        if (await receipts.Find(sender.Id, uuid) is not { } receipt) return NotFound(id);
        if (remove.Value) await receipts.Delete(sender.Id, uuid);
        return NgdpJson.Json(Receipt.Of(receipt));
    }

    private static async Task<IResult> DeleteReceipt(HttpContext http, string id, INgdpReceiptStore receipts) =>
        Guid.TryParse(id, out var uuid) && await receipts.Delete(http.Sender().Id, uuid) ? Results.NoContent() : NotFound(id);

    private static async Task<IResult> FindContacts(string? cprNumber, string? cvrNumber, IRecipientRegistryStore registry)
    {
        if ((cprNumber is null) == (cvrNumber is null))
            return NgdpJson.Error(StatusCodes.Status400BadRequest, "INVALID", "Give one of cprNumber and cvrNumber",
                [new FieldError("contact", cprNumber is null ? "cprNumber" : "cvrNumber", "INVALID", "exactly one of cprNumber and cvrNumber is given", null)]);
        if (cprNumber is not null && Cpr.Check(cprNumber) is { IsValid: false, Error: var cprError })
            // Never echoed: a malformed number may be most of a real one.
            return NgdpJson.Error(StatusCodes.Status400BadRequest, "INVALID", "The request is not valid",
                [new FieldError("contact", "cprNumber", "INVALID", cprError ?? "is not a CPR number", null)]);
        if (cvrNumber is not null && Cvr.Check(cvrNumber) is { } cvrError)
            return NgdpJson.Error(StatusCodes.Status400BadRequest, "INVALID", "The request is not valid",
                [new FieldError("contact", "cvrNumber", "INVALID", "is not a CVR number (8 digits, modulus 11)", Cpr.Redact(Short(cvrNumber)))]);
        var query = cprNumber is not null ? new RecipientQuery(RecipientKind.Cpr, Cpr.Normalise(cprNumber)) : new RecipientQuery(RecipientKind.Cvr, cvrNumber!);
        var found = (await registry.Lookup([query]))[0];
        return NgdpJson.Json(new ContactPage([ContactOf(query, found)], CurrentPage: 0, TotalPages: 1, ElementsOnPage: 1, TotalElements: 1, Next: null));
    }

    private static Contact ContactOf(RecipientQuery query, RecipientInfo found)
    {
        var (status, registration) = found.Verdict == RecipientVerdict.Unknown ? (PublicRegistrationStatus.Unknown, "UNKNOWN") : found.Status switch
        {
            RegistrationStatus.Registered => (PublicRegistrationStatus.Registered, "REGISTERED"),
            RegistrationStatus.Exempt => (PublicRegistrationStatus.Exempt, "EXEMPT"),
            RegistrationStatus.Closed => (PublicRegistrationStatus.Closed, "CLOSED"),
            // Not yet confirmed (about 30 days after turning 15): neither registered nor exempt in public.
            RegistrationStatus.NotYetConfirmed => (PublicRegistrationStatus.Unknown, "NOT_YET_CONFIRMED"),
            // A company: its mailbox is active or closed.
            null => found.Verdict == RecipientVerdict.DigitalPost ? (PublicRegistrationStatus.Registered, "REGISTERED") : (PublicRegistrationStatus.Closed, "CLOSED"),
            _ => (PublicRegistrationStatus.Unknown, "UNKNOWN"),
        };
        var type = found.Verdict == RecipientVerdict.Unknown ? ContactType.Unknown : query.Kind == RecipientKind.Cpr ? ContactType.Citizen : ContactType.Company;
        return new Contact(ContactId(query), type, query.Kind == RecipientKind.Cpr ? query.Id : null, query.Kind == RecipientKind.Cvr ? query.Id : null,
            new MailboxSubscription(registration, status), found.NemSms);
    }

    /// <summary>A contact's id, the same on every lookup, and not the CPR number (name-based on a keyed hash would be
    /// better still; the number is in the answer anyway).</summary>
    private static Guid ContactId(RecipientQuery query)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"ngdp-contact\n{query.Kind}\n{query.Id}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }

    internal static (int Page, int Size, IResult? Error) Paging(string? page, string? size)
    {
        var errors = new List<FieldError>();
        var number = 0;
        var pageSize = DefaultPageSize;
        if (page is not null && (!int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number > 1_000_000_000))
            errors.Add(new FieldError("request", "page", "INVALID", "is not a page number (0 or more)", Short(page)));
        if (size is not null && (!int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > MaxPageSize))
            errors.Add(new FieldError("request", "size", "INVALID", $"is not a page size (1 to {MaxPageSize})", Short(size)));
        return errors.Count > 0 ? (0, 0, NgdpJson.Error(StatusCodes.Status400BadRequest, "INVALID", "The paging arguments are not valid", errors)) : (number, pageSize, null);
    }

    private static long Pages(long total, int size) => (total + size - 1) / size;

    private static IResult NotFound(string id) => NgdpJson.Error(StatusCodes.Status404NotFound, "NOT_FOUND", "No receipt of this sender system has this id");

    internal static string Short(string value) => Cpr.Redact(value.Length > 100 ? value[..100] + "…" : value);
}
