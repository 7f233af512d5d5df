using Microsoft.AspNetCore.Mvc;
using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;
using DigitalPost.Grains;
using DigitalPost.Infrastructure;
using DigitalPost.Silo.Auth;
using Microsoft.Extensions.Options;

namespace DigitalPost.Silo;

public sealed record BatchAccepted(Guid BatchId, string SenderBatchId, string Outcome, BatchStatusView? Status, int IssueCount, IReadOnlyList<RowIssue> Issues, string StatusUrl);

public sealed record RowView(int Row, BatchRow? Accepted, IReadOnlyList<RowIssue> Issues, IReadOnlyList<AttachmentInfo> Attachments, string PreviewUrl);

public sealed record WebhookBody(Uri? Url);

/// <summary>What a sender learns of a recipient: whether and how a letter reaches them, not who they are to others. A
/// minor's guardians are counted, not named: their copies are the platform's to send.</summary>
public sealed record RecipientContact(RecipientKind Kind, string Id, RecipientVerdict Verdict, string? Name, RegistrationStatus? Status, bool NemSms,
    int? Age, bool IsMinor, int GuardianCount, IReadOnlyList<string> PNumbers)
{
    public static RecipientContact Of(RecipientInfo info) =>
        new(info.Kind, info.Id, info.Verdict, info.Name, info.Status, info.NemSms, info.Age, info.IsMinor, info.Guardians.Count, info.PNumbers);
}

/// <summary>What a registry load answers: the registry's counts after it, the records loaded, and the rows' issues (the
/// first <see cref="RegistryLoading.MaxIssues"/> of <see cref="IssueCount"/>).</summary>
public sealed record RegistryLoaded(RegistryCounts Counts, int Loaded, IReadOnlyList<RowIssue> Issues, int IssueCount);

/// <summary>Mass sending over HTTP. Sender systems (the sender policy) see only their own batches;
/// a batch is named by the platform's id or by the sender's own batch id.</summary>
public static class MassSendingApi
{
    public const long MaxUploadBytes = 1L << 30;

    public static void MapMassSendingApi(this RouteGroupBuilder app)
    {
        var senders = app.MapGroup("/api").RequireSender();
        senders.MapPost("/batches", async (HttpContext http, BatchIntake intake) =>
        {
            await using var upload = await intake.Read(http.Request, http.RequestAborted);
            var result = await intake.Accept(http.Sender(), upload);
            var id = result.Status?.BatchId ?? BatchIds.Batch(http.Sender().Id, upload.Options.BatchId ?? BatchIds.FromContent(upload.Fingerprint));
            var body = new BatchAccepted(id, result.Status?.SenderBatchId ?? upload.Options.BatchId ?? "", result.Outcome.ToString(),
                result.Status, result.IssueCount, result.Issues, $"/api/batches/{id}");
            return result.Outcome switch
            {
                BatchBeginOutcome.Receiving => Results.Accepted(body.StatusUrl, body),
                BatchBeginOutcome.AlreadyAccepted => Results.Ok(body),
                _ => Results.Problem(statusCode: 409, title: $"The batch id '{upload.Options.BatchId}' is already used by a batch with other content"),
            };
        }).DisableAntiforgery()
            // A million-row CSV is about 40 MB, over the server's default of 30 MB; it is streamed to disk, not held.
            .WithMetadata(new RequestSizeLimitAttribute(MaxUploadBytes));

        senders.MapPost("/batches/preview", async (HttpContext http, int row, BatchIntake intake, IRecipientRegistryStore registry, LetterRendering rendering) =>
        {
            await using var upload = await intake.Read(http.Request, http.RequestAborted);
            var (found, issues) = intake.FindRow(upload, row);
            if (found is null)
                return issues.Count > 0
                    ? Results.ValidationProblem(issues.GroupBy(i => i.Field).ToDictionary(g => $"row {row}: {g.Key}", g => g.Select(i => i.Reason).ToArray()))
                    : Results.NotFound(new { error = $"the CSV has no data row {row}" });
            var sender = http.Sender();
            var header = new BatchHeader(sender.Id, "preview", sender.Cvr, sender.Name, upload.Options, upload.Template, upload.Common, upload.Individual, upload.Fingerprint);
            var recipient = (await registry.Lookup([new RecipientQuery(found.Kind, found.RecipientId, found.PNumber)]))[0];
            return Results.File(rendering.Render(header, found, recipient), "application/pdf", $"row-{row}.pdf");
        }).DisableAntiforgery();

        var batch = senders.MapGroup("/batches/{batch}");
        batch.MapGet("", async (string batch, HttpContext http, IGrainFactory grains) =>
            await Own(grains, http, batch) is { } status ? Results.Ok(status) : NotYours(batch));
        batch.MapGet("/letters", async (string batch, HttpContext http, IGrainFactory grains, bool? errorsOnly, int? skip, int? take) =>
            await Own(grains, http, batch) is { } status
                ? Results.Ok(await grains.GetGrain<IMergeBatchGrain>(status.BatchId).GetLetters(errorsOnly ?? false, skip ?? 0, Math.Clamp(take ?? 1000, 1, 10_000)))
                : NotYours(batch));
        batch.MapGet("/issues", async (string batch, HttpContext http, IGrainFactory grains, int? skip, int? take) =>
            await Own(grains, http, batch) is { } status
                ? Results.Ok(await grains.GetGrain<IMergeBatchGrain>(status.BatchId).GetIssues(skip ?? 0, Math.Clamp(take ?? 1000, 1, 10_000)))
                : NotYours(batch));
        batch.MapPost("/retry-failed", async (string batch, HttpContext http, IGrainFactory grains) =>
            await Own(grains, http, batch) is { } status
                ? Results.Ok(new { retried = await grains.GetGrain<IMergeBatchGrain>(status.BatchId).RetryFailed() })
                : NotYours(batch));
        // Stops the letters not yet sent (no lane has them); 409 once every letter is final.
        batch.MapPost("/cancel", async (string batch, HttpContext http, IGrainFactory grains) =>
            await Own(grains, http, batch) is not { } status || await grains.GetGrain<IMergeBatchGrain>(status.BatchId).Cancel() is not { } done ? NotYours(batch)
            : done.AllFinal ? Results.Problem(statusCode: 409, title: "Nothing is left to cancel",
                detail: $"every letter of batch '{batch}' is final already (delivered, returned, failed or cancelled)")
            : Results.Ok(new { cancelled = done.Cancelled }));
        batch.MapGet("/rows/{row:int}/letter.pdf", async (string batch, int row, HttpContext http, IGrainFactory grains) =>
            await Own(grains, http, batch) is { } status && await grains.GetGrain<IMergeBatchGrain>(status.BatchId).Preview(row) is { } preview
                ? Results.File(preview.Pdf, "application/pdf", $"row-{row}.pdf")
                : NotYours(batch));
        batch.MapGet("/rows/{row:int}", async (string batch, int row, HttpContext http, IGrainFactory grains) =>
            await Own(grains, http, batch) is { } status && await grains.GetGrain<IMergeBatchGrain>(status.BatchId).Preview(row, renderPdf: false) is { } preview
                ? Results.Ok(new { row, preview.Fields, preview.Attachments, letter = $"/api/batches/{status.BatchId}/rows/{row}/letter.pdf" })
                : NotYours(batch));

        senders.MapGet("/senders/me", (HttpContext http, IGrainFactory grains) => grains.GetGrain<ISenderGrain>(http.Sender().Id).GetStatus());
        senders.MapPut("/senders/me/webhook", (HttpContext http, WebhookBody body, IGrainFactory grains) =>
        {
            if (body.Url is { } url && (!url.IsAbsoluteUri || url.Scheme is not ("http" or "https")))
                throw new ValidationException([new ValidationError("url", $"'{url}' is not an absolute http(s) URL")]);
            return grains.GetGrain<ISenderGrain>(http.Sender().Id).SetWebhook(body.Url);
        }).Audited(async http => await http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<ISenderGrain>(http.Sender().Id).GetStatus());

        // Contact lookup (kontaktopslag): can this CPR or CVR number receive Digital Post?
        senders.MapGet("/recipients/{id}", async (string id, string? pNumber, IRecipientRegistryStore registry) =>
            RecipientContact.Of((await registry.Lookup([new RecipientQuery(KindOf(id), Cpr.Normalise(id), pNumber)]))[0]));

        senders.MapGet("/archive/{id}", async (string id, HttpContext http, IGrainFactory grains, IOptions<MassSendingOptions> options) =>
        {
            var key = new CaseKeys(options.Value.ArchiveKey).Of(http.Sender().Id, KindOf(id), Cpr.Normalise(id));
            return await grains.GetGrain<IArchiveCaseGrain>(key).GetCase() is { } found ? Results.Ok(found) : Results.NotFound(new { error = "no case for this recipient" });
        });

        // The registry and the print queue are the platform's: its operators load and watch them. A load's audit entry
        // holds the registry's counts before and after, not its rows.
        var operators = app.MapGroup("/api").RequireOperator();
        var registry = operators.MapGroup("/registry")
            .Audited(async http => await http.RequestServices.GetRequiredService<IRecipientRegistryStore>().Counts());
        // Streamed: read, checked and stored a chunk at a time (see RegistryLoading).
        registry.MapPut("/citizens", (HttpRequest request, RegistryLoading loading) => loading.LoadCitizens(request))
            .WithMetadata(new RequestSizeLimitAttribute(RegistryLoading.MaxUploadBytes));
        registry.MapPut("/companies", (HttpRequest request, RegistryLoading loading) => loading.LoadCompanies(request))
            .WithMetadata(new RequestSizeLimitAttribute(RegistryLoading.MaxUploadBytes));
        registry.MapGet("", (IRecipientRegistryStore registry) => registry.Counts());
        operators.MapGet("/print", (IGrainFactory grains) => grains.GetGrain<IPrintQueueGrain>(0).GetStatus());
    }

    private static RecipientKind KindOf(string id) => id.Length == 8 ? RecipientKind.Cvr : RecipientKind.Cpr;

    /// <summary>The batch, if it exists and belongs to the calling sender. Another sender's batch is "not found", so
    /// nobody learns which batch ids exist.</summary>
    private static async Task<BatchStatusView?> Own(IGrainFactory grains, HttpContext http, string batch)
    {
        var sender = http.Sender();
        var id = Guid.TryParse(batch, out var guid) ? guid : BatchIds.Batch(sender.Id, batch);
        var status = await grains.GetGrain<IMergeBatchGrain>(id).GetStatus();
        return status?.SenderId == sender.Id ? status : null;
    }

    private static IResult NotYours(string batch) => Results.NotFound(new { error = $"no batch '{batch}' of this sender" });
}
