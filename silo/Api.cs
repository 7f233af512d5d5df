using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using DigitalPost.Silo.Auth;
using DigitalPost.Silo.Ngdp;
using Microsoft.AspNetCore.Mvc;

namespace DigitalPost.Silo;

public sealed record ReceiverSystemBody(Uri? Endpoint, string TechnicalContact, string? BusinessContact = null, bool IsPrimary = false, int MaxMessagesPerPush = 1,
    ReceiverProtocol Protocol = ReceiverProtocol.PlatformJson);

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

/// <summary>The platform's HTTP API: operators register organisations; organisations' administrators (or operators)
/// their receiver systems and contact points; senders submit messages and follow them; receiver systems post their
/// business receipts. Each group names the role it requires (<see cref="Policies"/>).</summary>
public static class Api
{
    public static IEndpointRouteBuilder MapDigitalPostApi(this IEndpointRouteBuilder endpoints)
    {
        var app = endpoints.MapGroup("");
        app.MapOrganisationApi();
        app.MapMessageApi();
        app.MapIncomingPostApi();
        app.MapMassSendingApi();
        app.MapCredentialsApi();
        app.MapReceiverSystemCredentialsApi();
        app.MapNgdpApi();
        app.MapNgdpReceiverApi();
        app.MapNotificationsApi();
        app.MapRetentionApi();
        app.MapGet("/api/operations", async (IGrainFactory grains, WakeUps wakeUps, IRecipientRegistryStore registry) =>
            new OperationsView(WakeUpsView.Of(await wakeUps.Counts()), await grains.GetGrain<IEmailOutboxGrain>(0).GetStatus(),
                await grains.GetGrain<IPrintQueueGrain>(0).GetStatus(), await registry.Counts(), ProcessView.Now())).RequireOperator();
        return endpoints;
    }

    private static void MapOrganisationApi(this RouteGroupBuilder app)
    {
        // Every organisation is named by its CVR number; anything else (a blank, a CPR number) names none.
        var organisations = app.MapGroup("/api/organisations/{cvr}").AddEndpointFilter((context, next) =>
            context.HttpContext.GetRouteValue("cvr") is string cvr && Cvr.Check(cvr) is { } error
                ? throw new ValidationException([new ValidationError("cvr", Cpr.Redact(error))])
                : next(context))
            .RequireOrganisationAdmin()
            .Audited(OrganisationState);
        // An organisation is registered (and renamed) by the platform's operators; its administrator runs the rest.
        organisations.MapPut("", (string cvr, OrganisationRegistration body, IGrainFactory grains) =>
            grains.GetGrain<IOrganisationGrain>(cvr).Register(body)).RequireOperator();
        organisations.MapGet("", async (string cvr, IGrainFactory grains) =>
            await grains.GetGrain<IOrganisationGrain>(cvr).GetView() is { } view ? Results.Ok(view) : Results.NotFound());
        organisations.MapPut("/receiver-systems/{systemId}", (string cvr, string systemId, ReceiverSystemBody body, IGrainFactory grains) =>
            grains.GetGrain<IOrganisationGrain>(cvr).UpsertReceiverSystem(
                new ReceiverSystemRegistration(systemId, body.Endpoint, body.TechnicalContact, body.BusinessContact, body.IsPrimary,
                    Math.Clamp(body.MaxMessagesPerPush, 1, 1000), body.Protocol)));
        organisations.MapGet("/receiver-systems/{systemId}", (string cvr, string systemId, IGrainFactory grains) =>
            grains.GetGrain<IReceiverSystemGrain>(ReceiverSystemKey.Of(cvr, systemId)).GetStatus());
        organisations.MapPost("/receiver-systems/{systemId}/reactivate", (string cvr, string systemId, IGrainFactory grains) =>
            grains.GetGrain<IReceiverSystemGrain>(ReceiverSystemKey.Of(cvr, systemId)).Reactivate());
        organisations.MapPut("/contact-points/{contactPointId}", (string cvr, string contactPointId, ContactPointBody body, IGrainFactory grains) =>
            grains.GetGrain<IOrganisationGrain>(cvr).UpsertContactPoint(
                new ContactPoint(contactPointId, body.Name, body.ReceiverSystemId, body.VisibleToCitizens, body.VisibleToAuthorities)));
        organisations.MapPut("/routing-rules", (string cvr, RoutingRule?[] rules, IGrainFactory grains) =>
        {
            var nulls = rules.Select((rule, i) => (rule, i)).Where(r => r.rule is null).Select(r => new ValidationError($"[{r.i}]", "is null; a rule is an object")).ToList();
            return nulls.Count > 0 ? throw new ValidationException(nulls) : grains.GetGrain<IOrganisationGrain>(cvr).SetRoutingRules([.. rules.OfType<RoutingRule>()]);
        });
        organisations.MapVirkMailboxApi();
    }

    /// <summary>What the audit log records of a change to an organisation: the receiver system's state for its
    /// reactivation, the organisation's otherwise.</summary>
    private static async Task<object?> OrganisationState(HttpContext http)
    {
        var (grains, cvr) = (http.RequestServices.GetRequiredService<IGrainFactory>(), (string)http.GetRouteValue("cvr")!);
        return http.GetRouteValue("systemId") is string systemId && http.Request.Path.Value!.EndsWith("/reactivate", StringComparison.Ordinal)
            ? await grains.GetGrain<IReceiverSystemGrain>(ReceiverSystemKey.Of(cvr, systemId)).GetStatus()
            : await grains.GetGrain<IOrganisationGrain>(cvr).GetView();
    }

    private static void MapMessageApi(this RouteGroupBuilder app)
    {
        var senders = app.MapGroup("").RequireSender();
        senders.MapPost("/api/messages", (HttpContext http, MessageIntake intake, ISingleMessageStore singles, TimeProvider time) =>
                intake.Submit(http.Request, new AuthorityPost(http.Sender(), singles, time), http.RequestAborted))
            // Over the server's default of 30 MB: multipart files are streamed into the document store, not held.
            .WithMetadata(new RequestSizeLimitAttribute(MessageIntake.MaxRequestBytes));
        // Another sender's message is "not found", so nobody learns which message ids exist.
        senders.MapGet("/api/messages/{messageUuid:guid}", async (Guid messageUuid, HttpContext http, IGrainFactory grains, IReplyStore replies) =>
            await grains.IsSentBy(messageUuid, http.Sender()) && await grains.GetGrain<IMessageGrain>(messageUuid).GetStatus() is { } status
                ? Results.Ok(status with { Replies = await replies.Of(messageUuid) }) : Results.NotFound());
        // Every file of a message at one address: from the document store as a stream, or as the message carries it.
        senders.MapGet("/api/messages/{messageUuid:guid}/documents/{document:int}/files/{file:int}",
            async (Guid messageUuid, int document, int file, HttpContext http, IGrainFactory grains, IDocumentStore documents) =>
            {
                if (!await grains.IsSentBy(messageUuid, http.Sender())) return Results.NotFound();
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
        var receivers = app.MapGroup("/api/receipts").RequireReceiverSystem();
        receivers.MapPost("", async (BusinessReceipt receipt, HttpContext http, IGrainFactory grains) =>
        {
            var outcome = (await ApplyReceipts(grains, http, [receipt]))[0];
            return outcome switch
            {
                ReceiptOutcome.UnknownMessage => Results.NotFound(new { outcome }),
                ReceiptOutcome.NotPushedToThisSystem => Results.Json(new { outcome }, PlatformJson.Options, statusCode: StatusCodes.Status403Forbidden),
                _ => Results.Ok(new { outcome }),
            };
        });
        // Receipts for many messages at once, as receiver systems that take bulk pushes send them: one outcome each.
        receivers.MapPost("/batch", async (BusinessReceipt?[] receipts, HttpContext http, IGrainFactory grains) =>
        {
            var missing = receipts.Select((receipt, i) => (receipt, i)).Where(r => r.receipt is null)
                .Select(r => new ValidationError($"[{r.i}]", "is null; each receipt is an object with a messageUuid and positive")).ToList();
            if (missing.Count > 0) throw new ValidationException(missing);
            var given = receipts.OfType<BusinessReceipt>().ToList();
            return Results.Ok((await ApplyReceipts(grains, http, given)).Select((outcome, i) => new { given[i].MessageUuid, outcome }));
        });
        // A merge letter's PDF is laid out when it is opened: messages carry this location instead of the document.
        senders.MapGet("/api/letters/{messageUuid:guid}/document.pdf", async (Guid messageUuid, HttpContext http, IGrainFactory grains) =>
            await grains.GetGrain<ILettersGrain>(0).Find(messageUuid) is { } letter
            && (await grains.GetGrain<IMergeBatchGrain>(letter.BatchId).GetStatus())?.SenderId == http.Sender().Id
            && await grains.GetGrain<IMergeBatchGrain>(letter.BatchId).Preview(letter.Row) is { } preview
                ? Results.File(preview.Pdf, "application/pdf", "brev.pdf")
                : Results.NotFound());
    }

    /// <summary>Applies the receipts a receiver system may give: those for messages pushed to it. The others are
    /// refused, one outcome each, and change nothing.</summary>
    internal static async Task<IReadOnlyList<ReceiptOutcome>> ApplyReceipts(IGrainFactory grains, HttpContext http, IReadOnlyList<BusinessReceipt> receipts)
    {
        var refused = await grains.NotPushedTo(http.User.ReceiverSystemKeyOf()!, receipts);
        var allowed = receipts.Where(r => !refused.Contains(r.MessageUuid)).ToList();
        var applied = allowed.Count > 0 ? await grains.GetGrain<ILettersGrain>(0).ApplyReceipts(allowed) : [];
        // The allowed keep their order, so their outcomes are taken in turn.
        var next = 0;
        return [.. receipts.Select(r => refused.Contains(r.MessageUuid) ? ReceiptOutcome.NotPushedToThisSystem : applied[next++])];
    }
}
