using DigitalPost.Domain;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DigitalPost;

public static class GrainsExtensions
{
    /// <summary>The services the platform's grains need, bound to the configuration sections they read.
    /// Storage, clustering and reminders are the host's choice.</summary>
    public static IServiceCollection AddDigitalPostGrains(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ResendFlowOptions>().Bind(configuration.GetSection(ResendFlowOptions.Section))
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        services.AddOptions<SchedulerOptions>().Bind(configuration.GetSection(SchedulerOptions.Section));
        services.AddOptions<SmtpOptions>().Bind(configuration.GetSection(SmtpOptions.Section));
        services.AddOptions<MassSendingOptions>().Bind(configuration.GetSection(MassSendingOptions.Section));
        services.AddOptions<PrintOptions>().Bind(configuration.GetSection(PrintOptions.Section));
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.Section));
        services.AddSingleton<LetterRendering>();
        services.AddHttpClient(nameof(Grains.SenderGrain));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<WakeUps>();
        services.AddHostedService<SchedulerWatchdog>();
        // The host puts the schedule in PostgreSQL when the platform's storage is there; otherwise it is in memory.
        services.TryAddSingleton<IWakeUpStore, MemoryWakeUpStore>();
        services.TryAddSingleton<IEmailSender, MailKitEmailSender>();
        services.AddSingleton<LetterPdfs>();
        services.AddHttpClient<ReceiverSystemClient>();
        services.AddSingleton<Ngdp.ReceiverSystemDelivery>();
        services.AddSingleton<BulkReceipts>();
        services.AddPlacementDirector<Grains.PartitionPlacement, Grains.PartitionPlacementDirector>();
        services.AddSingleton<Grains.OutsideReceiverSystems>();
        services.AddOptions<NotificationOptions>().Bind(configuration.GetSection(NotificationOptions.Section));
        services.AddHttpClient(SmsNotificationTransport.Client);
        services.AddSingleton<INotificationTransport, EmailNotificationTransport>();
        services.AddSingleton<INotificationTransport, SmsNotificationTransport>();
        services.AddOptions<Retention.RetentionOptions>().Bind(configuration.GetSection(Retention.RetentionOptions.Section));
        services.AddSingleton(new Retention.RetentionPeriods(configuration));
        services.AddSingleton<Retention.MessageTraces>();
        services.AddSingleton<Retention.RetentionJob>();
        services.AddSingleton<Retention.Erasure>();
        return services;
    }
}
