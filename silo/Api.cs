using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using Microsoft.AspNetCore.Mvc;

namespace DigitalPost.Silo;

public sealed record ReceiverSystemBody(Uri Endpoint, string TechnicalContact, string? BusinessContact = null, bool IsPrimary = false, int MaxMessagesPerPush = 1);

public sealed record ContactPointBody(string Name, string ReceiverSystemId, bool VisibleToCitizens = true, bool VisibleToAuthorities = true);

/// <summary>The silo process: memory, CPU, and what the garbage collector has cost since start (collections per
/// generation, total pause, bytes allocated), which is most of the silo's CPU under bulk load.</summary>
/// <param name="CpuSeconds">CPU time the silo process has used since it started: two readings give its CPU use between them.</param>
public sealed record ProcessView(long WorkingSetBytes, long ManagedHeapBytes, double CpuSeconds,
    int Gen0Collections, int Gen1Collections, int Gen2Collections, double GcPauseSeconds, long AllocatedBytes)
{
    public static ProcessView Now()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new(Environment.WorkingSet, GC.GetTotalMemory(forceFullCollection: false), process.TotalProcessorTime.TotalSeconds,
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration().TotalSeconds, GC.GetTotalAllocatedBytes());
    }
}

/// <summary>The wake-up schedule: entries waiting and due, and how late the shards' current activations fired the
/// ones they fired (milliseconds past their due time, on the platform's clock; percentiles to within an eighth).</summary>
public sealed record WakeUpsView(int Pending, int Due, long Fired, long? LatenessP50Ms, long? LatenessP99Ms, long? LatenessMaxMs)
{
    public static WakeUpsView Of(ScheduleCounts counts) => new(counts.Pending, counts.Due, counts.Lateness.Fired,
        counts.Lateness.Percentile(0.50), counts.Lateness.Percentile(0.99), counts.Lateness.Max);
}

public sealed record OperationsView(WakeUpsView WakeUps, OutboxStatus EmailOutbox, PrintQueueStatus PrintQueue, RegistryCounts Registry, ProcessView Process);

/// <summary>The platform's HTTP API: operators register organisations, receiver systems and contact points; senders
/// submit messages and follow them; receiver systems post their business receipts.</summary>
public static class Api
{
    public static IEndpointRouteBuilder MapDigitalPostApi(this IEndpointRouteBuilder endpoints)
    {
        var app = endpoints.MapGroup("");
        app.MapOrganisationApi();
        app.MapMessageApi();
        app.MapMassSendingApi();
        app.MapRetentionApi();
        app.MapGet("/api/operations", async (IGrainFactory grains, WakeUps wakeUps, IRecipientRegistryStore registry) =>
            new OperationsView(WakeUpsView.Of(await wakeUps.Counts()), await grains.GetGrain<IEmailOutboxGrain>(0).GetStatus(),
                await grains.GetGrain<IPrintQueueGrain>(0).GetStatus(), await registry.Counts(), ProcessView.Now()));
        return endpoints;
    }

    private static void MapOrganisationApi(this RouteGroupBuilder app)
    {
        // Every organisation is named by its CVR number; anything else (a blank, a CPR number) names none.
        var organisations = app.MapGroup("/api/organisations/{cvr}").AddEndpointFilter((context, next) =>
            context.HttpContext.GetRouteValue("cvr") is string cvr && Cvr.Check(cvr) is { } error
                ? throw new ValidationException([new ValidationError("cvr", Cpr.Redact(error))])
                : next(context));
        organisations.MapPut("", (string cvr, OrganisationRegistration body, IGrainFactory grains) =>
            grains.GetGrain<IOrganisationGrain>(cvr).Register(body));
        organisations.MapGet("", async (string cvr, IGrainFactory grains) =>
            await grains.GetGrain<IOrganisationGrain>(cvr).GetView() is { } view ? Results.Ok(view) : Results.NotFound());
        organisations.MapPut("/receiver-systems/{systemId}", (string cvr, string systemId, ReceiverSystemBody body, IGrainFactory grains) =>
            grains.GetGrain<IOrganisationGrain>(cvr).UpsertReceiverSystem(
                new ReceiverSystemRegistration(systemId, body.Endpoint, body.TechnicalContact, body.BusinessContact, body.IsPrimary,
                    Math.Clamp(body.MaxMessagesPerPush, 1, 1000))));
        organisations.MapGet("/receiver-systems/{systemId}", (string cvr, string systemId, IGrainFactory grains) =>
            grains.GetGrain<IReceiverSystemGrain>(ReceiverSystemKey.Of(cvr, systemId)).GetStatus());
        organisations.MapPost("/receiver-systems/{systemId}/reactivate", (string cvr, string systemId, IGrainFactory grains) =>
            grains.GetGrain<IReceiverSystemGrain>(ReceiverSystemKey.Of(cvr, systemId)).Reactivate());
        organisations.MapPut("/contact-points/{contactPointId}", (string cvr, string contactPointId, ContactPointBody body, IGrainFactory grains) =>
            grains.GetGrain<IOrganisationGrain>(cvr).UpsertContactPoint(
                new ContactPoint(contactPointId, body.Name, body.ReceiverSystemId, body.VisibleToCitizens, body.VisibleToAuthorities)));
        organisations.MapGet("/virk-mailbox", (string cvr, IGrainFactory grains) =>
            grains.GetGrain<IOrganisationGrain>(cvr).GetVirkMailbox());
    }

    private static void MapMessageApi(this RouteGroupBuilder app)
    {
        app.MapPost("/api/messages", (HttpContext http, MessageIntake intake) => intake.Submit(http.Request, http.RequestAborted))
            // Over the server's default of 30 MB: multipart files are streamed into the document store, not held.
            .WithMetadata(new RequestSizeLimitAttribute(MessageIntake.MaxRequestBytes));
        app.MapGet("/api/messages/{messageUuid:guid}", async (Guid messageUuid, IGrainFactory grains) =>
            await grains.GetGrain<IMessageGrain>(messageUuid).GetStatus() is { } status ? Results.Ok(status) : Results.NotFound());
        // Every file of a message at one address: from the document store as a stream, or as the message carries it.
        app.MapGet("/api/messages/{messageUuid:guid}/documents/{document:int}/files/{file:int}",
            async (Guid messageUuid, int document, int file, HttpContext http, IGrainFactory grains, IDocumentStore documents) =>
            {
                var found = await grains.GetGrain<IMessageGrain>(messageUuid).GetDocumentFile(document, file);
                if (found is null) return Results.NotFound();
                if (!found.IsStored())
                    return found.Content.Length > 0 ? Results.File(found.Content, found.EncodingFormat, found.Filename)
                        : found.Location is { } location ? Results.Redirect(location.ToString())
                        : Results.NotFound();
                if (await documents.Open(new DocumentKey(messageUuid, document, file), http.RequestAborted) is not { } content) return Results.NotFound();
                http.Response.ContentLength = found.Length;
                return Results.Stream(content, found.EncodingFormat, found.Filename);
            });
        app.MapPost("/api/receipts", async (BusinessReceipt receipt, IGrainFactory grains) =>
        {
            var outcome = (await grains.GetGrain<ILettersGrain>(0).ApplyReceipts([receipt]))[0];
            return outcome == ReceiptOutcome.UnknownMessage ? Results.NotFound(new { outcome }) : Results.Ok(new { outcome });
        });
        // Receipts for many messages at once, as receiver systems that take bulk pushes send them: one outcome each.
        app.MapPost("/api/receipts/batch", async (BusinessReceipt?[] receipts, IGrainFactory grains) =>
        {
            var missing = receipts.Select((receipt, i) => (receipt, i)).Where(r => r.receipt is null)
                .Select(r => new ValidationError($"[{r.i}]", "is null; each receipt is an object with a messageUuid and positive")).ToList();
            if (missing.Count > 0) throw new ValidationException(missing);
            var given = receipts.OfType<BusinessReceipt>().ToList();
            return Results.Ok((await grains.GetGrain<ILettersGrain>(0).ApplyReceipts(given)).Select((outcome, i) => new { given[i].MessageUuid, outcome }));
        });
        // A merge letter's PDF is laid out when it is opened: messages carry this location instead of the document.
        app.MapGet("/api/letters/{messageUuid:guid}/document.pdf", async (Guid messageUuid, IGrainFactory grains) =>
            await grains.GetGrain<ILettersGrain>(0).Find(messageUuid) is { } letter && await grains.GetGrain<IMergeBatchGrain>(letter.BatchId).Preview(letter.Row) is { } preview
                ? Results.File(preview.Pdf, "application/pdf", "brev.pdf")
                : Results.NotFound());
    }
}
