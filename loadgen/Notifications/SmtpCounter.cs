using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Text;
using SmtpServer;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace DigitalPost.LoadGen.Notifications;

/// <summary>An SMTP server on loopback that counts the e-mails it takes, once per Message-ID, for benchmarks: it keeps
/// no message, only the ids and when the last one came.</summary>
public sealed class SmtpCounter : IAsyncDisposable
{
    private readonly Store _store = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;

    public int Port { get; private set; }
    public int Count => _store.Ids.Count;
    public long Repeats => Interlocked.Read(ref _store.Repeats);
    public DateTimeOffset? LastAt => _store.LastAt;

    public static async Task<SmtpCounter> Start(int port)
    {
        var counter = new SmtpCounter();
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listeners = new EndpointListenerFactory();
        listeners.EndpointStarted += (_, e) => listening.TrySetResult(((IPEndPoint)e.LocalEndPoint).Port);
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(listeners);
        services.Add(counter._store);
        var options = new SmtpServerOptionsBuilder().ServerName("localhost")
            .Endpoint(endpoint => endpoint.Endpoint(new IPEndPoint(IPAddress.Loopback, port))).Build();
        counter._running = new SmtpServer.SmtpServer(options, services).StartAsync(counter._stop.Token);
        counter.Port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return counter;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _running; }
        catch (OperationCanceledException) { }
        _stop.Dispose();
    }

    private sealed class Store : MessageStore
    {
        public readonly ConcurrentDictionary<string, byte> Ids = new();
        public long Repeats;
        public DateTimeOffset? LastAt;

        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer,
            CancellationToken cancellationToken)
        {
            // The header block is enough to find the Message-ID.
            var head = Encoding.ASCII.GetString(buffer.Slice(0, Math.Min(buffer.Length, 4096)).ToArray());
            var at = head.IndexOf("Message-ID:", StringComparison.OrdinalIgnoreCase);
            var id = at < 0 ? Guid.NewGuid().ToString() : head[(at + 11)..head.IndexOf('\n', at)].Trim();
            if (!Ids.TryAdd(id, 0)) Interlocked.Increment(ref Repeats);
            LastAt = DateTimeOffset.UtcNow;
            return Task.FromResult(SmtpResponse.Ok);
        }
    }
}
