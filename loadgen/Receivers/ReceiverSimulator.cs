using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.Domain.Memo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace DigitalPost.LoadGen.Receivers;

/// <summary>How a simulated receiver system answers a push.</summary>
public enum ReceiverProfile
{
    /// <summary>202, then a positive business receipt.</summary>
    Healthy,
    /// <summary>202, then a negative receipt (invalid message).</summary>
    Negative,
    /// <summary>202, then a share of negative receipts (<see cref="ReceiverSimulator.FlakyShare"/>), the rest positive.</summary>
    Flaky,
    /// <summary>202, then a negative receipt reporting a virus.</summary>
    Virus,
    /// <summary>202, and no receipt ever.</summary>
    NoReceipt,
    /// <summary>503 for every push: the system is down.</summary>
    Dead,
    /// <summary>202 after a delay (<see cref="ReceiverSimulator.SlowDelay"/>), then a positive receipt.</summary>
    Slow,
    /// <summary>202, then a negative receipt for a share of the messages (<see cref="ReceiverSimulator.FailingShare"/>),
    /// always the same ones (chosen by message id, <see cref="ReceiverRules.FailsByShare"/>), positive for the rest: those
    /// messages run the whole resend flow while the system keeps returning positive receipts.</summary>
    FailingMessages,
}

/// <summary>One message as a simulated system received it; <see cref="InPush"/> is how many came in the same push.
/// <see cref="DocumentHashes"/>: the SHA-256 (hex) of each file's content, in the order of the message's documents and
/// files, when the simulator hashes them (<see cref="ReceiverSimulator.HashDocuments"/>). <see cref="ContentLength"/> is
/// the push's Content-Length header, where it had one; <see cref="Format"/> what it came as.</summary>
public sealed record ReceivedPush(string System, Guid MessageUuid, int Attempt, DateTimeOffset At, int InPush = 1, IReadOnlyList<string>? DocumentHashes = null,
    long? ContentLength = null, PushFormat Format = PushFormat.Json);

/// <summary>The part of a push envelope (<see cref="PushEnvelope"/>) that a simulated system reads.</summary>
public sealed record PushHead(Guid MessageUuid, int Attempt);

/// <summary>Receiver systems on loopback, one path each (<c>/systems/{name}</c>), answering pushes as their profile
/// says and posting business receipts back to the platform; or pulling their MeMos from the platform (<see cref="PullOnce"/>). Profiles can be switched while it runs. It counts what each
/// system got and answered (<see cref="Counts"/>, <c>GET /systems</c>) and can log every push as a JSON line.</summary>
public sealed partial class ReceiverSimulator : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (ReceiverProfile Profile, double? Share)> _profiles = new();
    private readonly ConcurrentDictionary<string, SystemCounter> _counts = new();
    private readonly PushLog? _log;
    private readonly CancellationTokenSource _closing = new();
    private readonly ConcurrentDictionary<Guid, string?> _poisoned = new();
    private readonly ConcurrentDictionary<string, string> _apiKeys = new();
    private readonly ConcurrentQueue<ReceivedPush> _pushes = new();
    private readonly ConcurrentDictionary<string, PushFormat> _formats = new();
    /// <summary>A MeMo says nothing of the attempt: the simulator counts the times it got each message.</summary>
    private readonly ConcurrentDictionary<Guid, int> _memoAttempts = new();
    /// <summary>One per silo receipts go to, taken in turn.</summary>
    private readonly HttpClient[] _platform;

    /// <summary>The platform's silos in turn, as a load balancer in front of them would spread the calls.</summary>
    private HttpClient NextPlatform() => _platform[(uint)Interlocked.Increment(ref _nextPlatform) % _platform.Length];
    private int _nextPlatform;
    private readonly WebApplication _app;
    private int _receiptsInFlight;
    private int _receiptsGivenUp;

    private ReceiverSimulator(IReadOnlyList<Uri> platformUrls, string listenUrl, ILoggerProvider? logging, string? pushLog)
    {
        _platform = [.. platformUrls.Select(url => new HttpClient { BaseAddress = url })];
        _log = pushLog is null ? null : new PushLog(pushLog);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(listenUrl);
        // A message of 99.5 MB is about 133 MB as base64 in JSON: over the server's default limit of 30 MB.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = null);
        builder.Logging.ClearProviders();
        if (logging is not null) builder.Logging.AddProvider(logging);
        builder.Services.ConfigureHttpJsonOptions(o => PlatformJson.Configure(o.SerializerOptions));
        _app = builder.Build();
        _app.MapPost("/systems/{name}", Receive);
        _app.MapPut("/systems/{name}/profile/{profile}", (string name, ReceiverProfile profile, double? share) =>
        {
            if (share is < 0 or > 1) return Results.Problem(statusCode: 400, title: $"share {share} must be from 0 to 1");
            SetProfile(name, profile, share);
            return Results.NoContent();
        });
        _app.MapGet("/systems", () => Counts);
    }

    /// <summary>Starts listening on <paramref name="listenUrl"/>; with <paramref name="pushLog"/>, every push is appended
    /// to that file as JSON lines. Receipts go to <paramref name="platformUrl"/>, or in turn to each of
    /// <paramref name="receiptsTo"/> (the silos of a cluster, as a load balancer in front of them would spread them).</summary>
    public static async Task<ReceiverSimulator> Start(Uri platformUrl, string listenUrl = "http://127.0.0.1:0", ILoggerProvider? logging = null, string? pushLog = null,
        IReadOnlyList<Uri>? receiptsTo = null)
    {
        var simulator = new ReceiverSimulator(receiptsTo is { Count: > 0 } ? receiptsTo : [platformUrl], listenUrl, logging, pushLog);
        await simulator._app.StartAsync();
        return simulator;
    }

    /// <summary>Cancelled when the process is told to stop (SIGTERM, Ctrl+C): the host's console lifetime takes those
    /// signals and stops only the web application, so whoever waits on the simulator must watch this.</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    public Uri BaseUrl => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public Uri EndpointOf(string system) => new(BaseUrl, $"/systems/{system}");

    /// <summary>The share of attempts a <see cref="ReceiverProfile.Flaky"/> system fails, unless its own is set.</summary>
    public double FlakyShare { get; set; } = 0.2;

    /// <summary>The share of messages a <see cref="ReceiverProfile.FailingMessages"/> system fails, unless its own is set.</summary>
    public double FailingShare { get; set; } = 0.2;

    public TimeSpan SlowDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Reads whole messages and records their files' hashes, to check what arrived byte for byte; off, only the
    /// envelopes' heads are read (a bulk push's messages are most of it). A MeMo is read whole either way.</summary>
    public bool HashDocuments { get; set; }

    public IReadOnlyCollection<ReceivedPush> Pushes => _pushes;

    /// <summary>Receipts accepted for posting but not yet answered by the platform.</summary>
    public int ReceiptsInFlight => Volatile.Read(ref _receiptsInFlight);

    /// <summary>Receipts this simulator stopped trying to post: their letters wait for their receipt deadline.</summary>
    public int ReceiptsGivenUp => Volatile.Read(ref _receiptsGivenUp);

    /// <summary>How <paramref name="system"/> answers from now on; <paramref name="share"/> is its own flaky share of
    /// attempts or failing share of messages.</summary>
    public void SetProfile(string system, ReceiverProfile profile, double? share = null) => _profiles[system] = (profile, share);

    /// <summary>Per system, what it got and answered, by name.</summary>
    public IReadOnlyList<SystemCounts> Counts =>
        [.. _counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => c.Value.Snapshot(c.Key, ProfileOf(c.Key).Profile))];

    private (ReceiverProfile Profile, double Share) ProfileOf(string system)
    {
        var (profile, share) = _profiles.GetValueOrDefault(system, (ReceiverProfile.Healthy, null));
        return (profile, share ?? (profile == ReceiverProfile.Flaky ? FlakyShare : FailingShare));
    }

    /// <summary>What every system takes unless it is given its own format (<see cref="SetFormat"/>).</summary>
    public PushFormat DefaultFormat { get; set; } = PushFormat.Json;

    /// <summary>What <paramref name="system"/> takes from now on: the platform's JSON, or MeMo (registered as REST_PUSH).</summary>
    public void SetFormat(string system, PushFormat format) => _formats[system] = format;

    public PushFormat FormatOf(string system) => _formats.GetValueOrDefault(system, DefaultFormat);

    /// <summary>The receiver system's credential, with which it posts its receipts (the platform refuses receipts of a
    /// system for letters pushed to another).</summary>
    public void SetApiKey(string system, string apiKey) => _apiKeys[system] = apiKey;

    /// <summary>This message gets a negative receipt, whatever the profile: from the named system, or from all.</summary>
    public void Poison(Guid messageUuid, string? system = null) => _poisoned[messageUuid] = system;

    /// <summary>A push carries one envelope, or an array of them for a system registered to take several at once;
    /// the receipts go back the same way: one, or all of the push's together. A MeMo system (<see cref="PushFormat.Memo"/>)
    /// gets one MeMo, or a <c>multipart/mixed</c> of them, reads each with <see cref="MemoReader"/> and answers each
    /// with an NgDP receipt of its own. A push in the other format than the system's is refused (415).</summary>
    private async Task<IResult> Receive(string name, HttpContext context)
    {
        var (profile, share) = ProfileOf(name);
        var counter = _counts.GetOrAdd(name, _ => new SystemCounter());
        var format = FormatOf(name);
        var sent = IsMemo(context.Request) ? PushFormat.Memo : PushFormat.Json;
        if (profile == ReceiverProfile.Dead || sent != format)
        {
            counter.Refused();
            _log?.Refused(name, DateTimeOffset.UtcNow);
            return profile == ReceiverProfile.Dead ? Results.StatusCode(StatusCodes.Status503ServiceUnavailable)
                : Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: $"System {name} takes {format}; the push is {sent} ({context.Request.ContentType})");
        }
        if (profile == ReceiverProfile.Slow) await Task.Delay(SlowDelay);
        (Guid MessageUuid, int Attempt, IReadOnlyList<string>? Hashes)[] envelopes;
        var many = false;
        if (format == PushFormat.Memo)
        {
            var (memos, errors) = await ReadMemos(context.Request);
            if (errors is not null)
            {
                counter.Refused();
                _log?.Refused(name, DateTimeOffset.UtcNow);
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not a valid MeMo", detail: errors);
            }
            envelopes = [.. memos.Select(m => (m.MessageUuid, _memoAttempts.AddOrUpdate(m.MessageUuid, 1, (_, n) => n + 1), HashDocuments ? m.Hashes : null))];
        }
        else
        {
            // Read once: a push of 500 letters is half a megabyte of JSON.
            using var buffer = new MemoryStream((int)Math.Min(context.Request.ContentLength ?? 0, Array.MaxLength));
            await context.Request.Body.CopyToAsync(buffer);
            var json = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
            many = json.Span.TrimStart(" \t\r\n"u8) is [(byte)'[', ..];
            envelopes = HashDocuments ? [.. Read<PushEnvelope>(json, many).Select(e => (e.MessageUuid, e.Attempt, (IReadOnlyList<string>?)Hashes(e.Message)))]
                // Only what a receipt needs: the message itself is skipped, not built (it is most of the push).
                : [.. Read<PushHead>(json, many).Select(e => (e.MessageUuid, e.Attempt, (IReadOnlyList<string>?)null))];
        }
        var kinds = new ReceiptKind[envelopes.Length];
        var at = DateTimeOffset.UtcNow;
        for (var i = 0; i < envelopes.Length; i++)
        {
            var envelope = envelopes[i];
            _pushes.Enqueue(new ReceivedPush(name, envelope.MessageUuid, envelope.Attempt, at, envelopes.Length, envelope.Hashes, context.Request.ContentLength, format));
            var poisoned = _poisoned.TryGetValue(envelope.MessageUuid, out var poisonedAt) && (poisonedAt is null || poisonedAt == name);
            kinds[i] = ReceiverRules.Receipt(profile, share, envelope.MessageUuid, poisoned, Random.Shared.NextDouble());
        }
        counter.Accepted(kinds);
        _log?.Accepted(name, at, [.. envelopes.Select((e, i) => (e.MessageUuid, e.Attempt, kinds[i]))]);
        var receipts = envelopes.Select((e, i) => ReceiverRules.ToReceipt(kinds[i], e.MessageUuid)).OfType<BusinessReceipt>().ToList();
        if (receipts.Count > 0)
        {
            // Count them before answering, so that "nothing in flight" means every receipt has been handled.
            Interlocked.Add(ref _receiptsInFlight, receipts.Count);
            context.Response.OnCompleted(() => format == PushFormat.Memo
                ? Task.WhenAll(envelopes.Select((e, i) => ReceiverRules.ToMemoReceipt(kinds[i], e.MessageUuid)).OfType<MemoReceipt>()
                    .Select(r => PostReceipts(name, $"/apis/v1/memos/{r.MessageUUID}/receipt", r, 1)))
                : many ? PostReceipts(name, "/api/receipts/batch", receipts, receipts.Count) : PostReceipts(name, "/api/receipts", receipts[0], 1));
        }
        return Results.Accepted();
    }

    private static bool IsMemo(HttpRequest request) =>
        request.ContentType is { } type && (type.StartsWith("application/xml", StringComparison.OrdinalIgnoreCase)
            || type.StartsWith("text/xml", StringComparison.OrdinalIgnoreCase) || type.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase));

    /// <summary>The MeMos of a push, each as it streams in (a part at a time of a multipart push), or what is wrong.</summary>
    private static async Task<(List<(Guid MessageUuid, IReadOnlyList<string> Hashes)> Memos, string? Errors)> ReadMemos(HttpRequest request)
    {
        var memos = new List<(Guid, IReadOnlyList<string>)>();
        if (!request.ContentType!.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase))
            return await ReadMemo(request.Body, memos, part: null) is { } error ? (memos, error) : (memos, null);
        var boundary = HeaderUtilities.RemoveQuotes(MediaTypeHeaderValue.Parse(request.ContentType).Boundary).Value;
        if (string.IsNullOrEmpty(boundary)) return (memos, "a multipart push names no boundary");
        var reader = new MultipartReader(boundary, request.Body);
        for (var (section, part) = (await reader.ReadNextSectionAsync(), 0); section is not null; (section, part) = (await reader.ReadNextSectionAsync(), part + 1))
        {
            if (section.ContentType is not { } type || !type.StartsWith(MemoXml, StringComparison.OrdinalIgnoreCase)) return (memos, $"part {part} is {section.ContentType}, not {MemoXml}");
            if (await ReadMemo(section.Body, memos, part) is { } error) return (memos, error);
        }
        return (memos, null);
    }

    private const string MemoXml = "application/xml";

    private static async Task<string?> ReadMemo(Stream body, List<(Guid, IReadOnlyList<string>)> memos, int? part)
    {
        var hashes = new List<string>();
        var read = await MemoReader.Read(body, async (_, content, cancellationToken) =>
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            long length = 0;
            for (int n; (n = await content.ReadAsync(buffer, cancellationToken)) > 0; length += n) sha.AppendData(buffer, 0, n);
            hashes.Add(Convert.ToHexStringLower(sha.GetHashAndReset()));
            return (length, hashes[^1]);
        });
        if (!read.IsValid) return $"{(part is null ? "" : $"part {part}: ")}{string.Join("; ", read.Errors.Select(e => $"{e.Path} {e.Message}"))}";
        memos.Add((read.Message!.Header.MessageUuid, hashes));
        return null;
    }

    private static T[] Read<T>(ReadOnlyMemory<byte> json, bool many) =>
        many ? JsonSerializer.Deserialize<T[]>(json.Span, PlatformJson.Options)! : [JsonSerializer.Deserialize<T>(json.Span, PlatformJson.Options)!];

    private static IReadOnlyList<string> Hashes(Message message) =>
        [.. MessageDocuments.Files(message).Select(f => Convert.ToHexStringLower(SHA256.HashData(f.File.Content)))];

    private async Task PostReceipts<T>(string system, string path, T body, int count)
    {
        try
        {
            // As a real receiver system would: keep trying for a while (about a minute) before giving the receipt up.
            // Once the simulator stops, the receipts still waiting are given up.
            for (var attempt = 1; attempt <= 15 && !_closing.IsCancellationRequested; attempt++)
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body, options: PlatformJson.Options) };
                    if (_apiKeys.TryGetValue(system, out var key)) request.Headers.Add("X-Api-Key", key);
                    using var response = await NextPlatform().SendAsync(request, _closing.Token);
                    if ((int)response.StatusCode < 500) return;
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException) { }
                try { await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 200 * attempt * attempt)), _closing.Token); }
                catch (OperationCanceledException) { }
            }
            Interlocked.Increment(ref _receiptsGivenUp);
        }
        finally
        {
            Interlocked.Add(ref _receiptsInFlight, -count);
        }
    }

    /// <summary>Waits until the receipts of the pushes answered so far are posted (or given up), at most <paramref name="limit"/>;
    /// true when none is left.</summary>
    public async Task<bool> DrainReceipts(TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (ReceiptsInFlight > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        return ReceiptsInFlight == 0;
    }

    public async ValueTask DisposeAsync()
    {
        // Receipts are posted after their push is answered, and the web host waits for them as it stops.
        await _closing.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        foreach (var platform in _platform) platform.Dispose();
        _log?.Dispose();
        _closing.Dispose();
    }
}
