using DigitalPost.Contracts;

namespace DigitalPost.Silo;

/// <summary>Notifications of new post, for operators: when the notifier last swept, and each channel's outbox.</summary>
public static class NotificationsApi
{
    public static RouteGroupBuilder MapNotificationsApi(this RouteGroupBuilder app)
    {
        app.MapGet("/api/notifications", (IGrainFactory grains) => grains.GetGrain<INotifierGrain>(0).GetStatus());
        return app;
    }
}
