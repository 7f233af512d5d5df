using System.Collections.Concurrent;
using DigitalPost.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DigitalPost.LoadGen.Notifications;

/// <summary>One SMS as the simulated provider took it.</summary>
public sealed record ReceivedSms(string Id, string From, string To, string Text, DateTimeOffset At);

/// <summary>A simulated SMS provider on loopback: <c>POST /sms</c> with <c>{"messages": [{"id", "from", "to", "text"}]}</c>
/// answers 202 and "sends" each message once per id (the idempotency key: a batch posted again is not sent twice, and
/// the repeats are counted); while <see cref="Refusing"/> it answers 503, as a provider that is down.</summary>
public sealed class SmsSimulator : IAsyncDisposable
{
    private sealed record Batch(IReadOnlyList<ReceivedSms>? Messages);

    private readonly ConcurrentDictionary<string, ReceivedSms> _sent = new();
    private readonly WebApplication _app;
    private long _repeats;
    private long _requests;

    private SmsSimulator(string listenUrl)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(listenUrl);
        builder.Logging.ClearProviders();
        builder.Services.ConfigureHttpJsonOptions(o => PlatformJson.Configure(o.SerializerOptions));
        _app = builder.Build();
        _app.MapPost("/sms", (Batch batch) =>
        {
            Interlocked.Increment(ref _requests);
            if (Refusing) return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            if (batch.Messages is not { Count: > 0 } messages || messages.Any(m => string.IsNullOrEmpty(m.Id) || string.IsNullOrEmpty(m.To)))
                return Results.Problem("every message needs an id and a number to send to", statusCode: StatusCodes.Status400BadRequest);
            var now = DateTimeOffset.UtcNow;
            foreach (var message in messages)
                if (!_sent.TryAdd(message.Id, message with { At = now })) Interlocked.Increment(ref _repeats);
            return Results.Accepted();
        });
    }

    public static async Task<SmsSimulator> Start(string listenUrl = "http://127.0.0.1:0")
    {
        var simulator = new SmsSimulator(listenUrl);
        await simulator._app.StartAsync();
        return simulator;
    }

    public Uri Endpoint => new(new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()), "/sms");

    /// <summary>While true, every request is answered 503.</summary>
    public bool Refusing { get; set; }

    /// <summary>Messages sent, once per id.</summary>
    public int Count => _sent.Count;

    /// <summary>Messages posted again with an id already sent: not sent again.</summary>
    public long Repeats => Interlocked.Read(ref _repeats);

    public long Requests => Interlocked.Read(ref _requests);

    public DateTimeOffset? LastAt => _sent.IsEmpty ? null : _sent.Values.Max(m => m.At);

    public IReadOnlyList<ReceivedSms> To(string number) => [.. _sent.Values.Where(m => m.To == number).OrderBy(m => m.At)];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
