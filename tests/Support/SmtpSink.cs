using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using MimeKit;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace DigitalPost.Tests.Support;

public sealed record ReceivedEmail(IReadOnlyList<string> Recipients, MimeMessage Message)
{
    public string Subject => Message.Subject ?? "";
    public string Body => Message.TextBody ?? "";
}

/// <summary>An SMTP server on loopback (the SmtpServer package) that keeps what it receives, with the envelope's
/// recipients. While <see cref="Refusing"/> it answers every message 421, as a server that is down for maintenance:
/// a temporary failure, which the platform must retry.</summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private readonly Store _store = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;

    private SmtpSink() { }

    /// <summary>Starts a server on a free loopback port.</summary>
    public static async Task<SmtpSink> Start()
    {
        var sink = new SmtpSink();
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listeners = new EndpointListenerFactory();
        listeners.EndpointStarted += (_, e) => listening.TrySetResult(((IPEndPoint)e.LocalEndPoint).Port);
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(listeners);
        services.Add(sink._store);
        var options = new SmtpServerOptionsBuilder()
            .ServerName("localhost")
            .Endpoint(endpoint => endpoint.Endpoint(new IPEndPoint(IPAddress.Loopback, 0)))
            .Build();
        sink._running = new SmtpServer.SmtpServer(options, services).StartAsync(sink._stop.Token);
        // Port 0 lets the system choose, so parallel test runs never collide; the port is known once it listens.
        sink.Port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return sink;
    }

    public int Port { get; private set; }

    public bool Refusing
    {
        get => _store.Refusing;
        set => _store.Refusing = value;
    }

    public IReadOnlyList<ReceivedEmail> To(string address) =>
        [.. _store.Received.Where(e => e.Recipients.Contains(address, StringComparer.OrdinalIgnoreCase))];

    public async ValueTask DisposeAsync()
    {
        // Cancelling, not a graceful shutdown: a platform that was killed mid-session never says QUIT.
        await _stop.CancelAsync();
        try { await _running; }
        catch (OperationCanceledException) { }
        _stop.Dispose();
    }

    private sealed class Store : MessageStore
    {
        public volatile bool Refusing;
        public readonly ConcurrentQueue<ReceivedEmail> Received = new();

        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction,
            ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            if (Refusing) return new SmtpResponse(SmtpReplyCode.ServiceUnavailable, "service not available");
            using var content = new MemoryStream(buffer.ToArray());
            var message = await MimeMessage.LoadAsync(content, cancellationToken);
            Received.Enqueue(new ReceivedEmail([.. transaction.To.Select(to => to.AsAddress())], message));
            return SmtpResponse.Ok;
        }
    }
}
