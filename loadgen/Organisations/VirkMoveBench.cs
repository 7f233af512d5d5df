using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Batches;
using DigitalPost.LoadGen.Messages;
using DigitalPost.LoadGen.Receivers;
using Spectre.Console;

namespace DigitalPost.LoadGen.Organisations;

public sealed record VirkMoveSettings(Uri Platform, string? ApiKey, string Listen, int Letters, int Concurrency, TimeSpan Timeout);

/// <summary>What <c>loadgen virkmove</c> measured. The move call answers once the letters are out of the mailbox and
/// recorded in the move; redelivery (each letter's message grain pushing it) follows in the background.</summary>
public sealed record VirkMoveReport(
    int Letters,
    /// <summary>Sending the letters to an organisation without receiver systems, until all were in its Virk mailbox.</summary>
    double FillSeconds,
    /// <summary>The one call that moves them all.</summary>
    double MoveCallSeconds,
    /// <summary>From the call until every letter was handed back to its message grain.</summary>
    double RedeliveredSeconds,
    /// <summary>From the call until the receiver system had every letter and had answered each with a positive receipt.</summary>
    double DeliveredSeconds,
    double DeliveredPerSecond,
    int LeftInMailbox,
    int PushesReceived,
    double SiloPeakWorkingSetMb);

/// <summary><c>loadgen virkmove</c>: fills one organisation's Virk mailbox (it has no receiver system yet), gives it a
/// healthy simulated receiver system, moves every letter there in one call and follows them until delivered.</summary>
public static class VirkMoveBench
{
    public static async Task<VirkMoveReport> Run(VirkMoveSettings settings, IAnsiConsole console, CancellationToken cancellationToken)
    {
        using var platform = new PlatformClient(settings.Platform, settings.ApiKey, settings.Timeout);
        using var http = new HttpClient { BaseAddress = settings.Platform, Timeout = settings.Timeout };
        if (!string.IsNullOrEmpty(settings.ApiKey)) http.DefaultRequestHeaders.Add("X-Api-Key", settings.ApiKey);
        await using var receivers = await ReceiverSimulator.Start(settings.Platform, settings.Listen);
        var run = Guid.NewGuid().ToString("N")[..8];
        var cvr = Bench.SyntheticCvrs(1, seed: run.GetHashCode())[0];
        await platform.RegisterOrganisation(cvr, new OrganisationRegistration($"Virk move {run}"), cancellationToken);

        var clock = Stopwatch.StartNew();
        var sent = 0;
        await Parallel.ForAsync(0, settings.Letters, new ParallelOptions { MaxDegreeOfParallelism = settings.Concurrency, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                await platform.SendMessage(Guid.NewGuid(), cvr, i % 2 == 0 ? "cp-erp" : null, $"Brev {i}", token);
                if (Interlocked.Increment(ref sent) % 10_000 == 0) console.MarkupLineInterpolated($"{sent:N0} sent");
            });
        while (await MailboxCount(http, cvr, cancellationToken) < settings.Letters && clock.Elapsed < settings.Timeout)
            await Task.Delay(200, cancellationToken);
        var fill = clock.Elapsed;
        console.MarkupLineInterpolated($"{settings.Letters:N0} letters in the Virk mailbox after {fill.TotalSeconds:0.0} s; moving them all...");

        var system = $"virkmove-{run}";
        await platform.RegisterReceiverSystem(cvr, "erp", receivers.EndpointOf(system), "drift@virkmove.example", isPrimary: true, cancellationToken: cancellationToken);
        await platform.PutContactPoint(cvr, "cp-erp", "erp", cancellationToken);
        using var sampling = new CancellationTokenSource();
        var peak = BigLetter.SamplePeak(platform, sampling.Token);

        clock.Restart();
        using var response = await http.PostAsJsonAsync($"/api/organisations/{cvr}/virk-mailbox/move", new { all = true, toOriginalContactPoint = true },
            PlatformJson.Options, cancellationToken);
        if (!response.IsSuccessStatusCode) throw new PlatformException(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        var moveCall = clock.Elapsed;
        var moveId = (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("move").GetProperty("moveId").GetGuid();

        TimeSpan? redelivered = null;
        while (clock.Elapsed < settings.Timeout)
        {
            if (redelivered is null && await Redelivered(http, cvr, moveId, cancellationToken) >= settings.Letters) redelivered = clock.Elapsed;
            if (redelivered is not null && receivers.Pushes.Count(p => p.System == system) >= settings.Letters && receivers.ReceiptsInFlight == 0) break;
            await Task.Delay(100, cancellationToken);
        }
        var delivered = clock.Elapsed;
        await sampling.CancelAsync();
        var pushes = receivers.Pushes.Count(p => p.System == system);
        return new VirkMoveReport(settings.Letters, Math.Round(fill.TotalSeconds, 2), Math.Round(moveCall.TotalSeconds, 3),
            Math.Round((redelivered ?? delivered).TotalSeconds, 2), Math.Round(delivered.TotalSeconds, 2), Math.Round(pushes / delivered.TotalSeconds),
            await MailboxCount(http, cvr, cancellationToken), pushes, Math.Round(await peak / 1_000_000.0, 1));
    }

    public static string ToJson(VirkMoveReport report) => JsonSerializer.Serialize(report, new JsonSerializerOptions(PlatformJson.Options) { WriteIndented = true });

    private static async Task<int> MailboxCount(HttpClient http, string cvr, CancellationToken cancellationToken) =>
        (await http.GetFromJsonAsync<JsonElement>($"/api/organisations/{cvr}/virk-mailbox?take=1", cancellationToken)).GetProperty("total").GetInt32();

    private static async Task<int> Redelivered(HttpClient http, string cvr, Guid moveId, CancellationToken cancellationToken) =>
        (await http.GetFromJsonAsync<JsonElement>($"/api/organisations/{cvr}/virk-mailbox/moves/{moveId}?take=1", cancellationToken))
            .GetProperty("move").GetProperty("redelivered").GetInt32();
}
