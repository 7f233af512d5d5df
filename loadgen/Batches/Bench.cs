using System.Diagnostics;
using System.Text;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Notifications;
using DigitalPost.LoadGen.Receivers;
using Spectre.Console;

namespace DigitalPost.LoadGen.Batches;

public sealed record BenchSettings(Uri Platform, string ApiKey, int Recipients, int Organisations, string Listen, ReceiverProfile Profile, TimeSpan Timeout,
    int PushSize = 1, int Baseline = 0, string? Postgres = null, BenchMix? Mix = null, bool CompareLanes = false, string? OperatorKey = null,
    NotifyChoice Notify = NotifyChoice.None, int SmtpPort = 2525, string SmsListen = "http://127.0.0.1:5400", IReadOnlyList<Uri>? ReceiptsTo = null,
    PushFormat Protocol = PushFormat.Json);

/// <summary>One batch's figures: from upload to every letter's final state.</summary>
public sealed record BatchRun(
    string Design,
    int Recipients,
    double UploadSeconds,
    double Seconds,
    double MessagesPerSecond,
    double LatencyP50Ms,
    double LatencyP99Ms,
    double PeakSiloWorkingSetMb,
    double PeakSiloManagedHeapMb,
    BatchCounts Counts,
    /// <summary>Receipts the simulated receivers gave up posting (their letters wait for the receipt deadline).</summary>
    int ReceiptsGivenUp,
    /// <summary>From upload until the work that follows a letter's final state was done too: every delivered letter in
    /// its recipient's archive case and every final event at the sender's webhook. Null when it was not within the
    /// timeout.</summary>
    double? DrainedSeconds);

/// <summary>Citizens' letters against organisations' in the same run: a batch of each alone, of the same size.</summary>
public sealed record LaneComparison(BatchRun Organisations, BatchRun Citizens, double CitizensOverOrganisations);

public sealed record BenchReport(
    int Organisations,
    string Profile,
    int PushSize,
    string Mix,
    BatchRun Batch,
    LaneComparison? Lanes,
    /// <summary>The same kind of batch delivered the straightforward way (a message grain per letter), in the same run.</summary>
    BatchRun? Straightforward,
    /// <summary>Bulk throughput over the straightforward design's.</summary>
    double? Speedup,
    /// <summary>Binary COPY of as many letter-shaped rows into the same PostgreSQL: the floor of any durable ingest.</summary>
    double? CopyFloorSeconds,
    double? TimesTheFloor,
    /// <summary>The mixed batch's notifications of new post, with <c>--notify</c>.</summary>
    NotificationRun? Notifications = null,
    /// <summary>What the simulated receiver systems take: the platform's JSON, or MeMo (registered as REST_PUSH).</summary>
    string Protocol = "Json",
    PushRepeats? Pushes = null);

/// <summary>What the simulated receiver systems got over the run: messages pushed, resends (a later attempt of a message,
/// by its message grain's resend flow), and repeats (the same attempt of a message pushed again: a push the platform
/// made but had not recorded, such as one by a silo that died), in all and per receiver system that got any.</summary>
public sealed record PushRepeats(int Pushed, int Messages, int Resends, int Repeats, IReadOnlyDictionary<string, int> RepeatsBySystem)
{
    public static PushRepeats Of(IReadOnlyCollection<ReceivedPush> pushes)
    {
        var repeatsBySystem = pushes.GroupBy(p => p.System)
            .Select(s => (System: s.Key, Repeats: s.Count() - s.Select(p => (p.MessageUuid, p.Attempt)).Distinct().Count()))
            .Where(s => s.Repeats > 0).OrderBy(s => s.System, StringComparer.Ordinal).ToDictionary(s => s.System, s => s.Repeats);
        var attempts = pushes.Select(p => (p.MessageUuid, p.Attempt)).Distinct().ToList();
        var messages = attempts.Select(a => a.MessageUuid).Distinct().Count();
        return new PushRepeats(pushes.Count, messages, attempts.Count - messages, repeatsBySystem.Values.Sum(), repeatsBySystem);
    }
}

/// <summary><c>loadgen bench</c>: a synthetic batch of N recipients in a chosen mix (registered citizens, exempt citizens,
/// NemSMS subscribers, organisations spread over simulated receiver systems), from upload to every letter's final state. Latency is from the batch's acceptance to each letter's delivery, as
/// the platform reports it to the sender's webhook; memory is the silo's, sampled from <c>/api/operations</c>.
/// Optionally, in the same run: a smaller batch delivered the straightforward way, and the COPY floor.</summary>
public static class Bench
{
    public static async Task<BenchReport> Run(BenchSettings settings, IAnsiConsole console, CancellationToken cancellationToken)
    {
        using var platform = new PlatformClient(settings.Platform, settings.ApiKey, operatorKey: settings.OperatorKey);
        await using var receivers = await ReceiverSimulator.Start(settings.Platform, settings.Listen, receiptsTo: settings.ReceiptsTo);
        await using var webhook = await WebhookCollector.Start();
        await using var notifications = settings.Notify == NotifyChoice.None ? null : await NotificationBench.Start(settings.Notify, settings.SmtpPort, settings.SmsListen);
        var completedAt = DateTime.UtcNow;
        var run = Guid.NewGuid().ToString("N")[..8];

        var cvrs = SyntheticCvrs(settings.Organisations, seed: run.GetHashCode());
        console.MarkupLineInterpolated($"Registering {cvrs.Count} organisations, each with a {settings.Profile} receiver system taking {settings.PushSize} per push as {settings.Protocol}...");
        receivers.DefaultFormat = settings.Protocol;
        foreach (var (cvr, i) in cvrs.Select((c, i) => (c, i)))
        {
            var name = $"bench-{run}-{i}";
            receivers.SetProfile(name, settings.Profile);
            await platform.RegisterOrganisation(cvr, new OrganisationRegistration($"Bench {i}"), cancellationToken);
            receivers.SetApiKey(name, await platform.RegisterReceiverSystem(cvr, "erp", receivers.EndpointOf(name), "drift@bench.example", isPrimary: true, settings.PushSize, settings.Protocol, cancellationToken));
        }
        var companies = new StringBuilder("cvr;navn;postkasse;pnumre;adresse\n");
        foreach (var (cvr, i) in cvrs.Select((c, i) => (c, i))) companies.Append($"{cvr};Bench {i};aktiv;;Benchvej {i}|1000 København K\n");
        await platform.LoadRegistry("companies", new MemoryStream(Encoding.UTF8.GetBytes(companies.ToString())), cancellationToken);
        await platform.SetWebhook(webhook.Url, cancellationToken);

        var mix = settings.Mix ?? BenchMix.Default;
        var batches = 0;
        var citizens = await LoadCitizens(platform, settings.Recipients, settings.CompareLanes ? [mix, BenchMix.CitizensOnly] : [mix], notifications, console, cancellationToken);

        if (notifications is not null) await notifications.Before(platform, cancellationToken);
        var batch = await RunBatch($"mixed batch ({mix})", settings.Recipients, mix, perMessage: false);
        var notified = notifications is null ? null : await notifications.Measure(platform,
            Math.Min(citizens[RecipientGroup.Citizen].Count, (long)Math.Ceiling(settings.Recipients * mix.Citizens / 100.0)), completedAt, settings.Timeout, console, cancellationToken);
        LaneComparison? lanes = null;
        if (settings.CompareLanes)
        {
            var (byOrganisations, byCitizens) = (await RunBatch("organisations only", settings.Recipients, BenchMix.OrganisationsOnly, perMessage: false),
                await RunBatch("citizens only", settings.Recipients, BenchMix.CitizensOnly, perMessage: false));
            lanes = new LaneComparison(byOrganisations, byCitizens, Math.Round(byCitizens.MessagesPerSecond / byOrganisations.MessagesPerSecond, 2));
        }
        var straightforward = settings.Baseline > 0 ? await RunBatch("message grain per letter", settings.Baseline, mix, perMessage: true) : null;
        double? floor = settings.Postgres is { } postgres ? await CopyFloor.Measure(postgres, settings.Recipients, console, cancellationToken) : null;
        return new BenchReport(cvrs.Count, settings.Profile.ToString(), settings.PushSize, mix.ToString(), batch, lanes, straightforward,
            straightforward is null ? null : Math.Round(batch.MessagesPerSecond / straightforward.MessagesPerSecond, 1),
            floor, floor is { } f ? Math.Round(batch.Seconds / f, 1) : null, notified, settings.Protocol.ToString(), PushRepeats.Of(receivers.Pushes));

        async Task<BatchRun> RunBatch(string design, int recipients, BenchMix rowsMix, bool perMessage)
        {
            var id = $"bench-{run}-{++batches}-{(perMessage ? "grains" : "bulk")}";
            var csv = new MemoryStream();
            await using (var writer = new StreamWriter(csv, new UTF8Encoding(false), leaveOpen: true))
            {
                await writer.WriteLineAsync("cpr;cvr;navn;beloeb;forfaldsdato");
                var next = new Dictionary<RecipientGroup, int>();
                for (var row = 0; row < recipients; row++)
                {
                    var group = rowsMix.GroupOf(row);
                    var nth = next[group] = next.GetValueOrDefault(group) + 1;
                    var to = group == RecipientGroup.Organisation ? $";{cvrs[nth % cvrs.Count]}" : $"{citizens[group][nth % citizens[group].Count]};";
                    await writer.WriteLineAsync($"{to};Modtager {row};{row % 9000 + 100},00;01-03-2027");
                }
            }
            csv.Position = 0;

            console.MarkupLineInterpolated($"[bold]{design}[/]: {recipients} recipients");
            using var sampling = new CancellationTokenSource();
            var peak = SamplePeakMemory(platform, sampling.Token);
            var clock = Stopwatch.StartNew();
            var accepted = await platform.SubmitBatch(new BatchOptions($"Bench {id}", BatchId: id, PerMessageDelivery: perMessage),
                "Kære {{ navn }}\n\nDu skal betale {{ beloeb }} kr. senest {{ forfaldsdato }}.", csv, cancellationToken: cancellationToken);
            var uploaded = clock.Elapsed;
            console.MarkupLineInterpolated($"Accepted {accepted.Status?.Counts.Accepted} rows in {uploaded.TotalSeconds:0.00} s; following...");
            var final = await Send.Follow(platform, accepted.BatchId, settings.Timeout, console, cancellationToken);
            var elapsed = clock.Elapsed;
            completedAt = DateTime.UtcNow;

            // The archive and the webhook trail the batch's completion: they are not on the way to a final state.
            var deadline = DateTime.UtcNow + settings.Timeout - elapsed;
            double? drained = null;
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    if (webhook.FinalEvents(accepted.BatchId) >= final.Counts.Accepted && (await platform.GetBatch(accepted.BatchId, cancellationToken)).ArchiveQueue == 0)
                    {
                        drained = Math.Round(clock.Elapsed.TotalSeconds, 3);
                        break;
                    }
                }
                catch (Exception e) when (PlatformClient.IsPassing(e)) { }
                await Task.Delay(200, cancellationToken);
            }
            await sampling.CancelAsync();
            var (workingSet, heap) = await peak;
            var latencies = webhook.Events.Where(e => e.BatchId == accepted.BatchId && e.State.IsFinal() && !e.State.IsFailure())
                .Select(e => (e.At - final.AcceptedAt).TotalMilliseconds).Order().ToArray();
            return new BatchRun(design, recipients, Math.Round(uploaded.TotalSeconds, 3), Math.Round(elapsed.TotalSeconds, 3),
                Math.Round(recipients / elapsed.TotalSeconds, 1), Percentile(latencies, 0.50), Percentile(latencies, 0.99),
                Math.Round(workingSet / 1048576.0, 1), Math.Round(heap / 1048576.0, 1), final.Counts, receivers.ReceiptsGivenUp, drained);
        }
    }

    /// <summary>Registers as many citizens of each group as the batches of the run address (registered, exempt with an
    /// address, NemSMS subscribers); nobody is in two groups, and a batch's rows go round each group's list.</summary>
    private static async Task<Dictionary<RecipientGroup, List<string>>> LoadCitizens(PlatformClient platform, int rows, IEnumerable<BenchMix> mixes,
        NotificationBench? notifications, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var wanted = new Dictionary<RecipientGroup, int>
        {
            [RecipientGroup.Citizen] = mixes.Max(m => m.Citizens),
            [RecipientGroup.Exempt] = mixes.Max(m => m.Exempt),
            [RecipientGroup.NemSms] = mixes.Max(m => m.NemSms),
        };
        var numbers = SyntheticCprs.Take(wanted.Values.Sum(share => (int)Math.Ceiling(rows * share / 100.0))).GetEnumerator();
        var citizens = wanted.ToDictionary(w => w.Key, w => Enumerable.Range(0, (int)Math.Ceiling(rows * w.Value / 100.0))
            .Select(_ => numbers.MoveNext() ? numbers.Current : throw new InvalidOperationException("too few synthetic CPR numbers")).ToList());
        if (citizens.Values.Sum(c => c.Count) == 0) return citizens;
        console.MarkupLineInterpolated($"Registering {citizens.Values.Sum(c => c.Count)} citizens (registered, exempt, NemSMS subscribers)...");
        var csv = new MemoryStream();
        await using (var writer = new StreamWriter(csv, new UTF8Encoding(false), leaveOpen: true))
        {
            // With --notify the registered citizens (the mailbox lane) chose notifications; the others did not.
            var (header, none) = notifications is null ? ("cpr;navn;status;nemsms;vaerger;adresse", "") : (NotificationBench.Header, ";;");
            await writer.WriteLineAsync(header);
            foreach (var (cpr, i) in citizens[RecipientGroup.Citizen].Select((c, i) => (c, i)))
                await writer.WriteLineAsync($"{cpr};Borger {i};tilmeldt;nej;;{(notifications is null ? "" : ";" + notifications.Cells(i))}");
            foreach (var (cpr, i) in citizens[RecipientGroup.Exempt].Select((c, i) => (c, i))) await writer.WriteLineAsync($"{cpr};Fritaget {i};fritaget;nej;;Benchvej {i}|1000 København K{none}");
            foreach (var (cpr, i) in citizens[RecipientGroup.NemSms].Select((c, i) => (c, i))) await writer.WriteLineAsync($"{cpr};Sms {i};tilmeldt;ja;;{none}");
        }
        csv.Position = 0;
        await platform.LoadRegistry("citizens", csv, cancellationToken);
        return citizens;
    }

    public static string ToJson(BenchReport report) => JsonSerializer.Serialize(report, new JsonSerializerOptions(PlatformJson.Options) { WriteIndented = true });

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 1);

    /// <summary>The silo's peak working set and managed heap, sampled from <c>/api/operations</c> every 200 ms until cancelled.</summary>
    internal static async Task<(long WorkingSet, long Heap)> SamplePeakMemory(PlatformClient platform, CancellationToken cancellationToken)
    {
        long workingSet = 0, heap = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var operations = await platform.GetOperations(cancellationToken);
                var process = operations.GetProperty("process");
                workingSet = Math.Max(workingSet, process.GetProperty("workingSetBytes").GetInt64());
                heap = Math.Max(heap, process.GetProperty("managedHeapBytes").GetInt64());
            }
            catch (OperationCanceledException) { break; }
            // A silo failing over answers 503 or drops the connection for a while: that sample is missed, not the run.
            catch (Exception e) when (PlatformClient.IsPassing(e)) { }
            try { await Task.Delay(200, cancellationToken); }
            catch (OperationCanceledException) { break; }
        }
        return (workingSet, heap);
    }

    /// <summary>Valid CVR numbers (modulus 11), different per run so runs do not share organisations.</summary>
    public static IReadOnlyList<string> SyntheticCvrs(int count, int seed)
    {
        int[] weights = [2, 7, 6, 5, 4, 3, 2, 1];
        var result = new List<string>();
        for (var n = 10_000_000 + Math.Abs(seed % 80_000_000); result.Count < count; n++)
        {
            var digits = (n % 90_000_000 + 10_000_000).ToString();
            var sum = 0;
            for (var i = 0; i < 8; i++) sum += (digits[i] - '0') * weights[i];
            if (sum % 11 == 0) result.Add(digits);
        }
        return result;
    }
}
