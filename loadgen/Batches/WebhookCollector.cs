using System.Collections.Concurrent;
using System.Text.Json;
using DigitalPost.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DigitalPost.LoadGen.Batches;

public sealed record WebhookEventBody(string EventId, Guid BatchId, string SenderBatchId, int Row, int Copy, Guid MessageUuid, LetterState State, DateTimeOffset At, string? ErrorCode, string? ErrorText);

/// <summary>A sender system's webhook on loopback: records every status event it is pushed, once per event id.
/// <see cref="FailNext"/> makes it answer 503 for a while, as a sender system that is down.</summary>
public sealed class WebhookCollector : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, WebhookEventBody> _events = new();
    private readonly ConcurrentDictionary<Guid, int> _finalEvents = new();
    private int _failures;

    private WebhookCollector(string listenUrl)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(listenUrl);
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/webhook", async (HttpRequest request) =>
        {
            Interlocked.Increment(ref _pushes);
            if (Interlocked.Decrement(ref _failures) >= 0) return Results.StatusCode(503);
            Interlocked.Exchange(ref _failures, 0);
            var body = await JsonSerializer.DeserializeAsync<Body>(request.Body, PlatformJson.Options);
            foreach (var e in body?.Events ?? [])
                if (_events.TryAdd(e.EventId, e) && e.State.IsFinal()) _finalEvents.AddOrUpdate(e.BatchId, 1, (_, n) => n + 1);
            return Results.Ok();
        });
    }

    private int _pushes;
    private sealed record Body(List<WebhookEventBody> Events);

    public static async Task<WebhookCollector> Start(string listenUrl = "http://127.0.0.1:0")
    {
        var collector = new WebhookCollector(listenUrl);
        await collector._app.StartAsync();
        return collector;
    }

    public Uri Url => new(new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()), "/webhook");

    public IReadOnlyCollection<WebhookEventBody> Events => [.. _events.Values];

    /// <summary>Distinct events of the batch that report a final state: counted as they come, since a million events
    /// are too many to count on every look.</summary>
    public int FinalEvents(Guid batchId) => _finalEvents.GetValueOrDefault(batchId);

    /// <summary>Pushes received, answered or refused.</summary>
    public int Pushes => _pushes;

    /// <summary>Refuses the next <paramref name="pushes"/> pushes with 503.</summary>
    public void FailNext(int pushes) => Interlocked.Exchange(ref _failures, pushes);

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
