using System.Diagnostics;
using System.Net;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Batches;
using DigitalPost.LoadGen.Receivers;
using Spectre.Console;

namespace DigitalPost.LoadGen.Messages;

public sealed record BigLetterSettings(Uri Platform, string Listen, long RequestBytes, int? SiloPid, TimeSpan Timeout, string? ApiKey = null, string? OperatorKey = null);

/// <summary>The silo's memory while one large letter goes through it: before (the last sample before sending), the
/// peak while it was taken in and delivered, and the rise over the letter's size.</summary>
/// <param name="Source">Where the figures come from: <c>/proc/{pid}/status</c> (VmRSS before, VmHWM after the peak was
/// reset, so no peak between samples is missed) or <c>/api/operations</c> sampled every 100 ms.</param>
public sealed record MemoryRise(string Source, double BeforeMb, double PeakMb, double RiseMb, double RiseOverLetter);

public sealed record BigLetterReport(
    long RequestBytes,
    long DocumentBytes,
    /// <summary>Until the platform answered 202: the body streamed in and the document stored.</summary>
    double UploadSeconds,
    /// <summary>Until the message was delivered: pushed to the receiver system and its positive receipt applied.</summary>
    double DeliveredSeconds,
    string Status,
    /// <summary>The receiver system got the document byte for byte (its SHA-256 equals the one sent).</summary>
    bool IdenticalAtReceiver,
    MemoryRise Sampled,
    MemoryRise? Proc,
    /// <summary>The target: the silo's peak working set rises by at most twice the letter's size.</summary>
    double TargetRiseOverLetter,
    bool Met);

/// <summary><c>loadgen bigletter</c>: one letter as large as Digital Post takes (99,500,000 bytes of request by
/// default), sent as multipart to an organisation whose receiver system is a healthy simulated one, followed until it
/// is delivered; measures the silo's memory on the way and checks that the receiver got the same bytes.</summary>
public static class BigLetter
{
    public const double TargetRiseOverLetter = 2.0;

    public static async Task<BigLetterReport> Run(BigLetterSettings settings, IAnsiConsole console, CancellationToken cancellationToken)
    {
        using var platform = new PlatformClient(settings.Platform, settings.ApiKey, settings.Timeout, settings.OperatorKey);
        await using var receivers = await ReceiverSimulator.Start(settings.Platform, settings.Listen);
        receivers.HashDocuments = true;
        var run = Guid.NewGuid().ToString("N")[..8];
        var cvr = Bench.SyntheticCvrs(1, seed: run.GetHashCode())[0];
        var system = $"bigletter-{run}";
        await platform.RegisterOrganisation(cvr, new OrganisationRegistration($"Big letter {run}"), cancellationToken);
        receivers.SetApiKey(system, await platform.RegisterReceiverSystem(cvr, "erp", receivers.EndpointOf(system), "drift@bigletter.example", isPrimary: true, cancellationToken: cancellationToken));

        var uuid = Guid.NewGuid();
        var message = new Message(
            new MessageHeader(uuid, "Stort brev", new Sender(PlatformClient.ScenarioSenderCvr), new Recipient(cvr)),
            new MessageBody(new Document("Stort brev", [new DocumentFile("stort-brev.pdf", "application/pdf", [])])));
        using var content = new GeneratedMessageContent(message, settings.RequestBytes);
        console.MarkupLineInterpolated($"Sending one letter of {settings.RequestBytes:N0} bytes (its document {content.FileBytes:N0}) to {cvr}...");

        // The silo settles after registering; the last sample before sending is the baseline.
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        var before = await WorkingSet(platform, cancellationToken);
        var rssBefore = settings.SiloPid is { } pid ? ResetPeak(pid) : (long?)null;
        using var sampling = new CancellationTokenSource();
        var sampled = SamplePeak(platform, sampling.Token);

        var clock = Stopwatch.StartNew();
        using (var http = new HttpClient { BaseAddress = settings.Platform, Timeout = settings.Timeout, DefaultRequestHeaders = { { "X-Api-Key", settings.ApiKey ?? "" } } })
        using (var response = await http.PostAsync("/api/messages", content, cancellationToken))
            if (response.StatusCode != HttpStatusCode.Accepted)
                throw new PlatformException(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        var uploaded = clock.Elapsed;
        console.MarkupLineInterpolated($"Accepted in {uploaded.TotalSeconds:0.00} s; following until delivered...");

        var status = await platform.GetMessage(uuid, cancellationToken);
        while (!status.IsFinal && clock.Elapsed < settings.Timeout)
        {
            await Task.Delay(100, cancellationToken);
            status = await platform.GetMessage(uuid, cancellationToken);
        }
        var delivered = clock.Elapsed;
        await sampling.CancelAsync();
        var peak = Math.Max(await sampled, before);

        var received = receivers.Pushes.FirstOrDefault(p => p.MessageUuid == uuid)?.DocumentHashes?.SingleOrDefault();
        var letter = (double)settings.RequestBytes;
        var bySampling = Rise("/api/operations every 100 ms", before, peak, letter);
        var byProc = settings.SiloPid is { } silo && rssBefore is { } rss ? Rise($"/proc/{silo}/status", rss, ProcStatus(silo, "VmHWM"), letter) : null;
        var worst = byProc ?? bySampling;
        return new BigLetterReport(settings.RequestBytes, content.FileBytes, Math.Round(uploaded.TotalSeconds, 3), Math.Round(delivered.TotalSeconds, 3),
            status.Status.ToString(), received is not null && received == content.Sha256, bySampling, byProc, TargetRiseOverLetter,
            status.Status == MessageStatus.Delivered && received == content.Sha256 && worst.RiseOverLetter <= TargetRiseOverLetter);
    }

    public static string ToJson(BigLetterReport report) => JsonSerializer.Serialize(report, new JsonSerializerOptions(PlatformJson.Options) { WriteIndented = true });

    private static MemoryRise Rise(string source, long before, long peak, double letter) => new(source, Mb(before), Mb(peak), Mb(peak - before),
        Math.Round((peak - before) / letter, 2));

    private static double Mb(long bytes) => Math.Round(bytes / 1_000_000.0, 1);

    private static async Task<long> WorkingSet(PlatformClient platform, CancellationToken cancellationToken) =>
        (await platform.GetOperations(cancellationToken)).GetProperty("process").GetProperty("workingSetBytes").GetInt64();

    /// <summary>The silo's peak working set, sampled through /api/operations every 100 ms until cancelled.</summary>
    internal static async Task<long> SamplePeak(PlatformClient platform, CancellationToken cancellationToken)
    {
        long peak = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                peak = Math.Max(peak, await WorkingSet(platform, cancellationToken));
                await Task.Delay(100, cancellationToken);
            }
            catch (OperationCanceledException) { break; }
        }
        return peak;
    }

    /// <summary>Resets the process's peak resident set (VmHWM) to its current one, as Linux does on writing 5 to
    /// clear_refs, and returns that: the peak read afterwards is the peak of what follows.</summary>
    private static long ResetPeak(int pid)
    {
        File.WriteAllText($"/proc/{pid}/clear_refs", "5");
        return ProcStatus(pid, "VmRSS");
    }

    /// <summary>A memory line of /proc/{pid}/status (given in kB), in bytes.</summary>
    private static long ProcStatus(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
