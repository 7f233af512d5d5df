using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;
using DigitalPost.LoadGen.Batches;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace DigitalPost.LoadGen.Registry;

public sealed record RegistryBenchSettings(Uri Platform, int Citizens, int Companies, IPEndPoint Gateway, string ServiceId, string ClusterId,
    int Lookups, int LookupBatch, string? OperatorKey = null);

/// <param name="SiloCpuSeconds">CPU the silo process used during the load (from <c>/api/operations</c>).</param>
public sealed record RegistryLoadRun(string Part, int Rows, double Seconds, double RowsPerSecond, int Loaded, int IssueCount, RegistryCounts Counts,
    double PeakSiloWorkingSetMb, double PeakSiloManagedHeapMb, double SiloCpuSeconds);

/// <summary>Lookups through the registry grain, a batch at a time as a merge batch's recipient check makes them.</summary>
public sealed record LookupRun(int Lookups, int BatchSize, double Seconds, double LookupsPerSecond, double BatchP50Ms, double BatchP99Ms, double BatchMaxMs,
    int Unknown);

public sealed record RegistryBenchReport(RegistryLoadRun? Citizens, RegistryLoadRun? Companies, LookupRun? Lookups);

/// <summary><c>loadgen registry</c>: the recipient registry at national scale. It writes synthetic citizens (valid CPR
/// numbers, names, statuses, guardians for minors, addresses) and companies (valid CVR numbers with P-numbers) as CSV
/// straight into the upload as it is sent, so neither file exists anywhere, then times a lookup load through the
/// silo's gateway.</summary>
public static class RegistryBench
{
    public static async Task<RegistryBenchReport> Run(RegistryBenchSettings settings, IAnsiConsole console, CancellationToken cancellationToken)
    {
        using var platform = new PlatformClient(settings.Platform, apiKey: null, timeout: TimeSpan.FromHours(1), operatorKey: settings.OperatorKey);
        var citizens = settings.Citizens > 0
            ? await Load(platform, "citizens", settings.Citizens, "cpr;navn;status;nemsms;vaerger;adresse", SyntheticRegistry.WriteCitizens, console, cancellationToken)
            : null;
        var companies = settings.Companies > 0
            ? await Load(platform, "companies", settings.Companies, "cvr;navn;postkasse;pnumre;adresse", SyntheticRegistry.WriteCompanies, console, cancellationToken)
            : null;
        var lookups = settings.Lookups > 0 ? await Lookups(settings, console, cancellationToken) : null;
        return new RegistryBenchReport(citizens, companies, lookups);
    }

    private static async Task<RegistryLoadRun> Load(PlatformClient platform, string part, int rows, string header, Action<TextWriter, int> write,
        IAnsiConsole console, CancellationToken cancellationToken)
    {
        console.MarkupLineInterpolated($"Loading {rows:N0} {part}, written as they are sent...");
        var cpuBefore = (await platform.GetOperations(cancellationToken)).GetProperty("process").GetProperty("cpuSeconds").GetDouble();
        using var sampling = new CancellationTokenSource();
        var peak = Bench.SamplePeakMemory(platform, sampling.Token);
        var clock = Stopwatch.StartNew();
        using var content = new CsvBody(header, rows, write);
        var loaded = await platform.LoadRegistry(part, content, cancellationToken);
        var elapsed = clock.Elapsed;
        await sampling.CancelAsync();
        var (workingSet, heap) = await peak;
        var cpuAfter = (await platform.GetOperations(cancellationToken)).GetProperty("process").GetProperty("cpuSeconds").GetDouble();
        console.MarkupLineInterpolated($"{loaded.Loaded:N0} {part} loaded in {elapsed.TotalSeconds:0.0} s, {loaded.IssueCount:N0} issues");
        return new RegistryLoadRun(part, rows, Math.Round(elapsed.TotalSeconds, 2), Math.Round(rows / elapsed.TotalSeconds), loaded.Loaded, loaded.IssueCount,
            loaded.Counts, Math.Round(workingSet / 1048576.0, 1), Math.Round(heap / 1048576.0, 1), Math.Round(cpuAfter - cpuBefore, 1));
    }

    private static async Task<LookupRun> Lookups(RegistryBenchSettings settings, IAnsiConsole console, CancellationToken cancellationToken)
    {
        using var host = await Gateway.Connect(settings.Gateway, settings.ServiceId, settings.ClusterId, cancellationToken);
        var registry = host.Services.GetRequiredService<IClusterClient>().GetGrain<IRecipientRegistryGrain>(0);

        // Known recipients spread over the whole registry: nine citizens to one company (half of those by P-number
        // alone) when both were loaded.
        var citizens = Math.Max(1, settings.Citizens);
        var companies = settings.Companies;
        var queries = Enumerable.Range(0, settings.Lookups).Select(i => companies > 0 && (i % 10 == 9 || settings.Citizens == 0)
            ? SyntheticRegistry.CompanyQuery((int)((long)i * 7919 % companies), byPNumber: i % 20 == 19)
            : new RecipientQuery(RecipientKind.Cpr, SyntheticRegistry.CprOf((int)((long)i * 104_729 % citizens)))).ToList();
        console.MarkupLineInterpolated($"Looking up {queries.Count:N0} recipients through the gateway, {settings.LookupBatch:N0} per call...");
        await registry.Lookup(queries[..Math.Min(10, queries.Count)]);

        var batches = new List<double>();
        var unknown = 0;
        var clock = Stopwatch.StartNew();
        foreach (var batch in queries.Chunk(settings.LookupBatch))
        {
            var started = clock.Elapsed;
            var answers = await registry.Lookup(batch);
            batches.Add((clock.Elapsed - started).TotalMilliseconds);
            unknown += answers.Count(a => a.Verdict == RecipientVerdict.Unknown);
        }
        var elapsed = clock.Elapsed;
        await host.StopAsync(cancellationToken);
        var sorted = batches.Order().ToArray();
        return new LookupRun(queries.Count, settings.LookupBatch, Math.Round(elapsed.TotalSeconds, 3), Math.Round(queries.Count / elapsed.TotalSeconds),
            Percentile(sorted, 0.50), Percentile(sorted, 0.99), Math.Round(sorted[^1], 1), unknown);
    }

    private static double Percentile(double[] sorted, double p) => Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 1);

    /// <summary>A CSV body written row by row while it is sent (chunked), declared UTF-8 so the platform reads it as it arrives.</summary>
    private sealed class CsvBody : HttpContent
    {
        private readonly string _header;
        private readonly int _rows;
        private readonly Action<TextWriter, int> _write;

        public CsvBody(string header, int rows, Action<TextWriter, int> write)
        {
            (_header, _rows, _write) = (header, rows, write);
            Headers.ContentType = new("text/csv") { CharSet = "utf-8" };
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            await writer.WriteLineAsync(_header);
            for (var i = 0; i < _rows; i++)
            {
                _write(writer, i);
                // Writing is synchronous into the writer's buffer; the network is awaited once a buffer is full.
                if (i % 1_000 == 999) await writer.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>
/// A synthetic registry, the same on every run: citizen <c>i</c> and company <c>i</c> are always the same, so a lookup
/// can name any of them without keeping the files, and loading twice loads the same registry again.
/// </summary>
public static class SyntheticRegistry
{
    private static readonly DateOnly FirstBirth = new(1930, 1, 1);
    private static readonly string[] FirstNames = ["Anna", "Mads", "Sofie", "Søren", "Ida", "Jens", "Emma", "Frederik", "Karen", "Ib", "Mette", "Åse", "Lars", "Ærenfried"];
    private static readonly string[] LastNames = ["Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen", "Rasmussen", "Jørgensen", "Østergaard"];
    private static readonly string[] Streets = ["Søndergade", "Rådhuspladsen", "Skovvej", "Åboulevarden", "Kirkestræde", "Havnegade", "Vestergade", "Møllevej"];
    private static readonly (string Code, string Town)[] Towns = [("1550", "København V"), ("8000", "Aarhus C"), ("5000", "Odense C"), ("9000", "Aalborg"), ("6700", "Esbjerg"), ("4000", "Roskilde")];
    private const int PerDay = 180;
    /// <summary>Dates of birth formatted once each, for the 200 years from <see cref="FirstBirth"/>.</summary>
    private static readonly (string Date, bool From2000)?[] Days = new (string, bool)?[200 * 366];

    private static (string, bool) Day(DateOnly birth) => (birth.ToString("ddMMyy", CultureInfo.InvariantCulture), birth.Year >= 2000);

    /// <summary>Citizen <paramref name="i"/>'s CPR number: 180 people born on each day from 1 January 1930, each with a
    /// serial number that passes the modulus-11 check (made by <see cref="Cpr.WithCheckDigit"/>).</summary>
    public static string CprOf(int i)
    {
        var day = i / PerDay;
        // The generator's own cost shares the machine with what it measures: a day's date is formatted once.
        var (date, from2000) = day < Days.Length ? Days[day] ??= Day(FirstBirth.AddDays(day)) : Day(FirstBirth.AddDays(day));
        // Each person has two serial numbers of their own to choose from, which differ in the last digit before the
        // check digit: at most one of them has no check digit. The 7th digit gives the century: 0 to 3 for 1900-1999,
        // 4 to 7 for 2000-2036.
        var serial = (from2000 ? 400 : 0) + i % PerDay * 2;
        return Cpr.WithCheckDigit($"{date}{serial:D3}") ?? Cpr.WithCheckDigit($"{date}{serial + 1:D3}")!;
    }

    public static void WriteCitizens(TextWriter writer, int i)
    {
        var cpr = CprOf(i);
        var status = (i % 100) switch { < 90 => "tilmeldt", < 95 => "fritaget", < 97 => "afventer", _ => "lukket" };
        writer.Write(cpr);
        writer.Write(';');
        writer.Write(FirstNames[i % FirstNames.Length]);
        writer.Write(' ');
        writer.Write(LastNames[i / FirstNames.Length % LastNames.Length]);
        writer.Write(';');
        writer.Write(status);
        writer.Write(i % 3 == 0 ? ";ja;" : ";nej;");
        // Minors (born from 2008) have two guardians born 30 years before them.
        if (i / PerDay >= 78 * 365)
        {
            writer.Write(CprOf(i - 30 * 365 * PerDay));
            writer.Write('|');
            writer.Write(CprOf(i - 30 * 365 * PerDay + 1));
        }
        writer.Write(';');
        Address(writer, i);
        writer.WriteLine();
    }

    /// <summary>Company <paramref name="i"/>: a valid CVR number (made by <see cref="Cvr.WithCheckDigit"/>), one
    /// P-number (every fifth company two), an active Digital Post mailbox for most.</summary>
    public static void WriteCompanies(TextWriter writer, int i)
    {
        writer.Write(CvrOf(i));
        writer.Write(";Virksomhed ");
        writer.Write(i);
        writer.Write(i % 4 == 0 ? " A/S;" : " ApS;");
        writer.Write(i % 20 == 0 ? "lukket;" : "aktiv;");
        writer.Write(PNumberOf(i, 0));
        if (i % 5 == 0)
        {
            writer.Write('|');
            writer.Write(PNumberOf(i, 1));
        }
        writer.Write(';');
        Address(writer, i);
        writer.WriteLine();
    }

    public static RecipientQuery CompanyQuery(int i, bool byPNumber) =>
        byPNumber ? new RecipientQuery(RecipientKind.Cvr, "", PNumberOf(i, 0)) : new RecipientQuery(RecipientKind.Cvr, CvrOf(i));

    /// <summary>Company <paramref name="i"/>'s CVR number: of the ten seven-digit prefixes that are company
    /// <paramref name="i"/>'s own, the first with a check digit (at most one of them has none).</summary>
    private static string CvrOf(int i)
    {
        for (var prefix = 1_000_000 + i * 10; ; prefix++)
            if (Cvr.WithCheckDigit(prefix.ToString("D7", CultureInfo.InvariantCulture)) is { } cvr) return cvr;
    }

    private static string PNumberOf(int i, int unit) => $"1{unit}{i:D8}";

    private static void Address(TextWriter writer, int i)
    {
        var (code, town) = Towns[i % Towns.Length];
        writer.Write(Streets[i / Towns.Length % Streets.Length]);
        writer.Write(' ');
        writer.Write(i % 97 + 1);
        writer.Write('|');
        writer.Write(code);
        writer.Write(' ');
        writer.Write(town);
    }
}
