using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Infrastructure;
using DigitalPost.Silo.Auth;
using DigitalPost.Ngdp;
using DigitalPost.Silo.Ngdp;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;
using Orleans.Dashboard;
using System.Text.Json;
using Npgsql;

namespace DigitalPost.Silo;

public static class SiloExtensions
{
    /// <summary>The embedded default: one silo, localhost clustering, in-memory storage and reminders. Not durable:
    /// a restart forgets everything.</summary>
    public static WebApplicationBuilder AddDigitalPostSilo(this WebApplicationBuilder builder)
    {
        // The schema must be in place before Orleans' providers touch the database.
        var storage = StorageSettings.Of(builder.Configuration);
        if (storage.IsPostgres) new PostgresSchema(storage.ConnectionString).ApplyAsync().GetAwaiter().GetResult();
        var orleans = builder.Configuration.GetSection("Orleans");
        var (siloPort, gatewayPort) = (orleans.GetValue("SiloPort", 11111), orleans.GetValue("GatewayPort", 30000));
        var (serviceId, clusterId) = (orleans.GetValue("ServiceId", "digitalpost")!, orleans.GetValue("ClusterId", "digitalpost")!);
        builder.UseOrleans(silo =>
        {
            if (storage.IsPostgres)
            {
                // Silos sharing the database find each other in its membership table.
                silo.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (StorageSettings.Invariant, storage.ConnectionString));
                silo.Configure<ClusterOptions>(o => (o.ServiceId, o.ClusterId) = (serviceId, clusterId));
                silo.ConfigureEndpoints(orleans.GetValue("AdvertisedAddress", "127.0.0.1")!, siloPort, gatewayPort, listenOnAnyHostAddress: false);
                // How fast a silo that stopped answering is declared dead (and its grains reactivated elsewhere):
                // Orleans' defaults suit a data centre; a cluster on one host or a test may probe harder.
                silo.Configure<ClusterMembershipOptions>(orleans.GetSection("Membership"));
            }
            else silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: serviceId, clusterId: clusterId);
            // Mutual TLS on the silo and gateway ports, when a certificate is configured (a cluster beyond loopback
            // needs it: Orleans lets any client that reaches the gateway call every grain). The embedded default
            // listens on loopback only and runs without.
            OrleansTls.Of(builder.Configuration)?.Configure(silo);
            silo.AddDigitalPostPlatform(builder.Configuration);
            silo.AddDashboard();
        });
        builder.Services.AddDigitalPostApi(builder.Configuration);
        builder.Services.AddHostedService<RegistrySeeding>();
        builder.Services.AddHealthChecks()
            .AddCheck<LocalSiloHealthCheck>("silo")
            .AddCheck<EmailOutboxHealthCheck>("email-outbox");
        return builder;
    }

    /// <summary>What every silo of the platform runs, whatever hosts it (the silo process or a test cluster).</summary>
    public static ISiloBuilder AddDigitalPostPlatform(this ISiloBuilder silo, IConfiguration configuration)
    {
        // Grain state is stored with Orleans' own serializer: the contracts' [Id]s version it, and it takes the
        // compiler's collection types that the default JSON serializer cannot read back.
        silo.Services.AddSingleton<IGrainStorageSerializer>(sp => new OrleansGrainStorageSerializer(sp.GetRequiredService<Orleans.Serialization.Serializer>()));
        if (StorageSettings.Of(configuration) is { IsPostgres: true } storage)
        {
            // The platform's own tables share one connection pool per silo.
            silo.Services.AddSingleton(_ => NpgsqlDataSource.Create(storage.ConnectionString));
            silo.Services.AddSingleton<ILetterStore, PostgresLetterStore>();
            silo.Services.AddSingleton<IArchiveStore, PostgresArchiveStore>();
            silo.Services.AddSingleton<IWebhookOutbox, PostgresWebhookOutbox>();
            silo.Services.AddSingleton<ICitizenLaneStore, PostgresCitizenLaneStore>();
            silo.Services.AddSingleton<IPrintStore, PostgresPrintStore>();
            silo.Services.AddSingleton<IDocumentStore, PostgresDocumentStore>();
            silo.Services.AddSingleton<IRecipientRegistryStore, PostgresRecipientRegistryStore>();
            silo.Services.AddSingleton<IVirkMailboxStore, PostgresVirkMailboxStore>();
            silo.Services.AddSingleton<IReplyStore, PostgresReplyStore>();
            silo.Services.AddSingleton<INgdpReceiptStore, PostgresNgdpReceiptStore>();
            silo.Services.AddSingleton<IPullQueue, PostgresPullQueue>();
            silo.Services.AddSingleton<INotificationStore, PostgresNotificationStore>();
            silo.Services.AddSingleton<ISingleMessageStore, PostgresSingleMessageStore>();
            silo.Services.AddSingleton(sp => new PostgresMessageStateRows(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<IOptions<ClusterOptions>>()));
            silo.Services.AddSingleton<IGrainStates, PostgresGrainStates>();
            // The platform's grains write through a snapshot of their state (see SnapshotGrainStorage); the rows
            // are the ADO.NET provider's own.
            const string adoNet = StorageNames.Platform + "-adonet";
            silo.AddAdoNetGrainStorage(adoNet, o => (o.Invariant, o.ConnectionString) = (StorageSettings.Invariant, storage.ConnectionString));
            silo.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Platform, (sp, _) =>
                new SnapshotGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>(adoNet), sp.GetRequiredService<Orleans.Serialization.DeepCopier>()));
            silo.AddAdoNetGrainStorage("PubSubStore", o => (o.Invariant, o.ConnectionString) = (StorageSettings.Invariant, storage.ConnectionString));
            silo.Services.AddPostgresWakeUpStore();
        }
        else
        {
            silo.Services.AddSingleton<ILetterStore, MemoryLetterStore>();
            silo.Services.AddSingleton<IArchiveStore, MemoryArchiveStore>();
            silo.Services.AddSingleton<IWebhookOutbox, MemoryWebhookOutbox>();
            // The notifier reads the memory mailboxes and registry as they are, so each is one instance under two names.
            silo.Services.AddSingleton<MemoryCitizenLaneStore>();
            silo.Services.AddSingleton<ICitizenLaneStore>(sp => sp.GetRequiredService<MemoryCitizenLaneStore>());
            silo.Services.AddSingleton<IPrintStore, MemoryPrintStore>();
            silo.Services.AddSingleton<IDocumentStore, MemoryDocumentStore>();
            silo.Services.AddSingleton<MemoryRecipientRegistryStore>();
            silo.Services.AddSingleton<IRecipientRegistryStore>(sp => sp.GetRequiredService<MemoryRecipientRegistryStore>());
            silo.Services.AddSingleton<INotificationStore, MemoryNotificationStore>();
            silo.Services.AddSingleton<IVirkMailboxStore, MemoryVirkMailboxStore>();
            silo.Services.AddSingleton<IReplyStore, MemoryReplyStore>();
            silo.Services.AddSingleton<INgdpReceiptStore, MemoryNgdpReceiptStore>();
            silo.Services.AddSingleton<IPullQueue, MemoryPullQueue>();
            silo.Services.AddSingleton<ISingleMessageStore, MemorySingleMessageStore>();
            silo.Services.AddSingleton<IGrainStates, GrainStates>();
            silo.AddMemoryGrainStorage(StorageNames.Platform);
            silo.AddMemoryGrainStorage("PubSubStore");
        }
        // A batch letter's message grain keeps its state on the letter's row; a single message's stays in the platform's storage.
        silo.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Messages, (sp, _) => new LetterRowStorage(sp.GetRequiredService<ILetterStore>(),
            sp.GetRequiredKeyedService<IGrainStorage>(StorageNames.Platform), sp.GetRequiredService<IGrainStorageSerializer>()));
        if (StorageSettings.Of(configuration) is { IsPostgres: true } durable)
            silo.UseAdoNetReminderService(o => (o.Invariant, o.ConnectionString) = (StorageSettings.Invariant, durable.ConnectionString));
        else silo.UseInMemoryReminderService();
        // Letters' status changes flow to their batch on a stream; pub-sub state lets other services subscribe too.
        silo.AddMemoryStreams(LetterStream.Provider);
        silo.Services.AddSingleton<IMessageOutcomes>(sp => sp.GetRequiredService<INgdpReceiptStore>());
        silo.Services.AddDigitalPostGrains(configuration);
        // Overdue wake-ups fire as soon as a silo is up, not at the shards' next keep-alive reminder (up to a minute).
        // The reminders remain the guarantee, so a shard that cannot be reached now does not stop the silo.
        silo.AddStartupTask(async (services, _) =>
        {
            try { await services.GetRequiredService<WakeUps>().ResumeAll(); }
            catch (Exception e) { services.GetRequiredService<ILogger<WakeUps>>().LogWarning(e, "Wake-up shards were not resumed at start; their reminders will"); }
        });
        // The retention job's first wake-up, once a period is set; a silo starting later finds it scheduled and changes nothing.
        silo.AddStartupTask(async (services, _) =>
        {
            if (!services.GetRequiredService<DigitalPost.Retention.RetentionPeriods>().AnyConfigured) return;
            try { await services.GetRequiredService<IGrainFactory>().GetGrain<IRetentionGrain>(0).Start(); }
            catch (Exception e) { services.GetRequiredService<ILogger<WakeUps>>().LogWarning(e, "The retention job was not scheduled at start; the next silo to start will"); }
        });
        return silo;
    }

    /// <summary>The HTTP API's services: JSON as the platform writes it, and errors as problem details. The API runs in
    /// the silo and uses its recipient registry store (<see cref="IRecipientRegistryStore"/>) directly: a registry
    /// file's millions of rows go from the request to the store without passing through a grain.</summary>
    public static IServiceCollection AddDigitalPostApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ResendFlowOptions>().Bind(configuration.GetSection(ResendFlowOptions.Section));
        services.AddOptions<MassSendingOptions>().Bind(configuration.GetSection(MassSendingOptions.Section));
        services.AddOptions<SchedulerOptions>().Bind(configuration.GetSection(SchedulerOptions.Section));
        services.ConfigureHttpJsonOptions(o => PlatformJson.Configure(o.SerializerOptions));
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemHandler>();
        // A body or parameter that cannot be bound throws, so ProblemHandler answers it with where it fails; otherwise
        // it is a bare 400, and its reason goes only to a debug log, with the value quoted.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.TryAddSingleton<WakeUps>();
        services.AddDigitalPostAuth();
        services.AddSingleton(sp => new Credentials(configuration, sp.GetRequiredService<ICredentialStore>(), sp.GetRequiredService<TimeProvider>()));
        if (StorageSettings.Of(configuration) is { IsPostgres: true } storage)
        {
            // A pool of the API's own: credentials are read on every request, and the silo's pool may be busy with a batch.
            const string pool = "auth";
            services.AddKeyedSingleton(pool, (_, _) => NpgsqlDataSource.Create(storage.ConnectionString));
            services.AddSingleton<ICredentialStore>(sp => new PostgresCredentialStore(sp.GetRequiredKeyedService<NpgsqlDataSource>(pool)));
            services.AddSingleton<IAuditLog>(sp => new PostgresAuditLog(sp.GetRequiredKeyedService<NpgsqlDataSource>(pool)));
        }
        else
        {
            services.AddSingleton<ICredentialStore, MemoryCredentialStore>();
            services.AddSingleton<IAuditLog, MemoryAuditLog>();
        }
        services.AddScoped<BatchIntake>();
        services.AddSingleton<MessageIntake>();
        services.AddSingleton<IncomingPost>();
        services.AddNgdpApi();
        services.AddOptions<RegistryOptions>().Bind(configuration.GetSection(RegistryOptions.Section));
        services.AddSingleton<RegistryLoading>();
        services.TryAddSingleton<LetterRendering>();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }

    public static WebApplication MapDigitalPost(this WebApplication app)
    {
        app.UseDigitalPostErrors();
        app.UseDigitalPostAuth();
        app.MapDigitalPostApi();
        // The dashboard shows every grain and streams the log: operators only. A browser is asked for an operator's
        // id and key (Basic authentication).
        app.MapOrleansDashboard("/dashboard").RequireOperator();
        // Open, for load balancers and orchestrators: it says whether the silo is up, and nothing of its content.
        app.MapHealthChecks("/health", new() { ResponseWriter = WriteHealth }).AllowAnonymous();
        return app;
    }

    /// <summary>Every error becomes a problem-details answer (<see cref="ProblemHandler"/>).</summary>
    public static IApplicationBuilder UseDigitalPostErrors(this IApplicationBuilder app) => app.UseExceptionHandler();

    private static Task WriteHealth(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), e.Value.Description }),
        }, PlatformJson.Options));
    }
}

/// <summary><c>Storage:Provider</c> picks where grain state lives: <c>Memory</c> (the embedded default, not durable)
/// or <c>PostgreSQL</c> with <c>Storage:ConnectionString</c>; the schema under <c>deploy/sql</c> is applied at start.</summary>
public sealed record StorageSettings(string Provider, string ConnectionString)
{
    public const string Invariant = "Npgsql";

    public bool IsPostgres => Provider.Equals("PostgreSQL", StringComparison.OrdinalIgnoreCase);

    public static StorageSettings Of(IConfiguration configuration)
    {
        var settings = new StorageSettings(configuration["Storage:Provider"] ?? "Memory", configuration["Storage:ConnectionString"] ?? "");
        if (!settings.IsPostgres && !settings.Provider.Equals("Memory", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"Storage:Provider is '{settings.Provider}'; it must be Memory or PostgreSQL.");
        if (settings.IsPostgres && settings.ConnectionString.Length == 0)
            throw new InvalidOperationException("Storage:Provider is PostgreSQL but Storage:ConnectionString is empty.");
        return settings;
    }
}

/// <summary>Healthy while the local silo is an active member of its cluster.</summary>
public sealed class LocalSiloHealthCheck(ISiloStatusOracle oracle) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(oracle.CurrentStatus == SiloStatus.Active
            ? HealthCheckResult.Healthy($"silo {oracle.SiloName} is active")
            : HealthCheckResult.Unhealthy($"silo {oracle.SiloName} is {oracle.CurrentStatus}"));
}

/// <summary>Degraded while e-mails to receiver systems' contacts are failing to go out.</summary>
public sealed class EmailOutboxHealthCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var outbox = await grains.GetGrain<IEmailOutboxGrain>(0).GetStatus();
        var description = $"{outbox.Pending} pending, {outbox.Sent} sent";
        return outbox.LastError is null
            ? HealthCheckResult.Healthy(description)
            : HealthCheckResult.Degraded($"{description}; last error {outbox.LastError}");
    }
}
