using System.Collections.Concurrent;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Receivers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DigitalPost.Tests.Support;

/// <summary>A receiver system on loopback that holds every push unanswered until <see cref="Release"/>, then answers
/// 202 (no receipt: the test posts them). It keeps a batch in the middle of sending: a partition's pushes under way
/// hold up its next dispatch step.</summary>
public sealed class HeldReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<Guid, int> _received = new();
    private int _held;

    private HeldReceiver()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/", async (HttpContext context) =>
        {
            var head = await JsonSerializer.DeserializeAsync<PushHead>(context.Request.Body, PlatformJson.Options);
            _received.AddOrUpdate(head!.MessageUuid, 1, (_, n) => n + 1);
            Interlocked.Increment(ref _held);
            try { await _released.Task.WaitAsync(context.RequestAborted); }
            finally { Interlocked.Decrement(ref _held); }
            return Results.Accepted();
        });
    }

    public static async Task<HeldReceiver> Start()
    {
        var receiver = new HeldReceiver();
        await receiver._app.StartAsync();
        return receiver;
    }

    public Uri Endpoint => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>Pushes waiting for their answer now.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>The messages pushed so far, and how often each.</summary>
    public IReadOnlyDictionary<Guid, int> Received => _received;

    public void Release() => _released.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        Release();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
