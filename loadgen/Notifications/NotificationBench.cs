using System.Diagnostics;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Batches;
using Spectre.Console;

namespace DigitalPost.LoadGen.Notifications;

/// <summary>Which notifications the bench's registered citizens chose.</summary>
public enum NotifyChoice { None, Email, Sms, Both }

/// <summary>A batch's notifications of new post, measured from the moment the batch completed (its last letter in a
/// mailbox): until the last was queued by the notifier and until the last was taken by the SMTP server and the SMS
/// provider, with the silo's peak memory meanwhile.</summary>
public sealed record NotificationRun(
    string Channels,
    long Expected,
    long Queued,
    double? QueuedSeconds,
    int EmailsReceived,
    int SmsReceived,
    long Repeats,
    double? SentSeconds,
    double? SentPerSecond,
    double PeakSiloWorkingSetMb,
    double PeakSiloManagedHeapMb);

/// <summary>For <c>loadgen bench --notify</c>: a counting SMTP server and the simulated SMS provider on loopback (the
/// silo must be started with <c>--Smtp:Host 127.0.0.1 --Smtp:Port {port} --Notifications:Sms:Endpoint {listen}/sms</c>),
/// the citizens' registry columns, and the measurement.</summary>
public sealed class NotificationBench : IAsyncDisposable
{
    private readonly NotifyChoice _choice;
    private readonly SmtpCounter? _smtp;
    private readonly SmsSimulator? _sms;
    private long _queuedBefore;

    private NotificationBench(NotifyChoice choice, SmtpCounter? smtp, SmsSimulator? sms) => (_choice, _smtp, _sms) = (choice, smtp, sms);

    public static async Task<NotificationBench> Start(NotifyChoice choice, int smtpPort, string smsListen) => new(choice,
        choice is NotifyChoice.Email or NotifyChoice.Both ? await SmtpCounter.Start(smtpPort) : null,
        choice is NotifyChoice.Sms or NotifyChoice.Both ? await SmsSimulator.Start(smsListen) : null);

    public const string Header = "cpr;navn;status;nemsms;vaerger;adresse;epost;mobil";

    /// <summary>The two notification cells of a registered citizen's row (the n-th one).</summary>
    public string Cells(int n) =>
        $"{(_smtp is not null ? $"borger{n}@bench.example" : "")};{(_sms is not null ? $"+45{20_000_000 + n % 79_999_999}" : "")}";

    public async Task Before(PlatformClient platform, CancellationToken cancellationToken) =>
        _queuedBefore = (await Status(platform, cancellationToken)).GetProperty("queued").GetInt64();

    /// <summary>Follows the notifications of <paramref name="citizens"/> citizens from <paramref name="completedAt"/>
    /// (UTC, the batch's completion) until all were taken, or the timeout.</summary>
    public async Task<NotificationRun> Measure(PlatformClient platform, long citizens, DateTime completedAt, TimeSpan timeout, IAnsiConsole console,
        CancellationToken cancellationToken)
    {
        var channels = (_smtp is null ? 0 : 1) + (_sms is null ? 0 : 1);
        var expected = citizens * channels;
        console.MarkupLineInterpolated($"Following {expected:N0} notifications ({_choice})...");
        using var sampling = new CancellationTokenSource();
        var peak = Bench.SamplePeakMemory(platform, sampling.Token);
        double? queuedSeconds = null;
        long queued = 0;
        var deadline = DateTime.UtcNow + timeout;
        var clock = Stopwatch.StartNew();
        while (DateTime.UtcNow < deadline)
        {
            if (queuedSeconds is null)
            {
                queued = (await Status(platform, cancellationToken)).GetProperty("queued").GetInt64() - _queuedBefore;
                if (queued >= expected) queuedSeconds = Math.Round((DateTime.UtcNow - completedAt).TotalSeconds, 1);
            }
            if (Received >= expected) break;
            if (clock.Elapsed.TotalSeconds >= 10)
            {
                console.MarkupLineInterpolated($"  queued {queued:N0}, e-mails {_smtp?.Count ?? 0:N0}, SMS {_sms?.Count ?? 0:N0}");
                clock.Restart();
            }
            await Task.Delay(1000, cancellationToken);
        }
        await sampling.CancelAsync();
        var (workingSet, heap) = await peak;
        var lastAt = new[] { _smtp?.LastAt, _sms?.LastAt }.Max();
        double? sentSeconds = Received >= expected && lastAt is { } last ? Math.Round((last.UtcDateTime - completedAt).TotalSeconds, 1) : null;
        return new NotificationRun(_choice.ToString(), expected, queued, queuedSeconds, _smtp?.Count ?? 0, _sms?.Count ?? 0,
            (_smtp?.Repeats ?? 0) + (_sms?.Repeats ?? 0), sentSeconds, sentSeconds is > 0 ? Math.Round(expected / sentSeconds.Value) : null,
            Math.Round(workingSet / 1048576.0, 1), Math.Round(heap / 1048576.0, 1));
    }

    private long Received => (_smtp?.Count ?? 0) + (_sms?.Count ?? 0);

    private static async Task<JsonElement> Status(PlatformClient platform, CancellationToken cancellationToken) =>
        await platform.Get<JsonElement>("/api/notifications", cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_smtp is not null) await _smtp.DisposeAsync();
        if (_sms is not null) await _sms.DisposeAsync();
    }
}
