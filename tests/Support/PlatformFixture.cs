using System.Net;
using System.Net.Http.Json;
using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Infrastructure;
using DigitalPost.LoadGen.Notifications;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.Silo;
using DigitalPost.Silo.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans.Reminders;
using Orleans.TestingHost;

namespace DigitalPost.Tests.Support;

/// <summary>One silo (TestingHost) on a fake clock, the platform's HTTP API on loopback in front of it, simulated
/// receiver systems on loopback, and an SMTP server on loopback. Shared by the tests of a collection; each test uses
/// organisations of its own. Storage is in memory; <see cref="PostgresPlatformFixture"/> runs the same platform on
/// PostgreSQL.</summary>
public class PlatformFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset Start = new(2026, 1, 5, 8, 0, 0, TimeSpan.Zero);
    public static readonly TimeSpan RetryInterval = TimeSpan.FromHours(6);
    public static readonly TimeSpan ReceiptTimeout = TimeSpan.FromMinutes(15);
    private static int _nextCvr = 1_000_000;

    public FakeTimeProvider Time { get; } = new(Start);
    public SmtpSink Smtp { get; private set; } = null!;
    /// <summary>The SMS provider that notifications of new post go to.</summary>
    public SmsSimulator Sms { get; private set; } = null!;
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public IClusterClient Client => Cluster.Client;
    public HttpClient Http { get; private set; } = null!;
    public ReceiverSimulator Receivers { get; private set; } = null!;
    /// <summary>The silo's document store, which the HTTP API in front of it shares, as the silo process's own API does.</summary>
    public IDocumentStore Documents { get; private set; } = null!;
    public ResendFlowOptions Flow { get; private set; } = null!;
    /// <summary>The API as the sender systems "alfa-kommune" and "beta-styrelse" call it, with their API keys. Beta's
    /// CVR is the sender of <see cref="NewMessage"/>'s messages.</summary>
    public HttpClient Alpha { get; private set; } = null!;
    public HttpClient Beta { get; private set; } = null!;
    /// <summary>The API without credentials.</summary>
    public HttpClient Anonymous { get; private set; } = null!;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _receiverKeys = new();

    /// <summary>A client of the API with this API key (any role's).</summary>
    public HttpClient SenderHttp(string apiKey)
    {
        var http = new HttpClient { BaseAddress = Http.BaseAddress };
        http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        return http;
    }

    /// <summary>Issues a credential through the operators' API and returns its key.</summary>
    public async Task<string> IssueKey(Role role, string name, string? cvr = null, string? receiverSystemId = null, string? id = null)
    {
        using var response = await Http.PostAsJsonAsync("/api/credentials", new CredentialRequest(role, name, cvr, receiverSystemId, id), PlatformJson.Options);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"POST /api/credentials: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<IssuedCredential>(PlatformJson.Options))!.ApiKey;
    }

    /// <summary>Issues the receiver system <paramref name="systemId"/> of <paramref name="org"/> its key, with which its
    /// simulated system posts its receipts.</summary>
    public async Task IssueReceiverKey(TestOrganisation org, string systemId)
    {
        var key = await IssueKey(Role.ReceiverSystem, $"system {systemId} of {org.Cvr}", org.Cvr, systemId);
        _receiverKeys[org.Simulated(systemId)] = key;
        Receivers.SetApiKey(org.Simulated(systemId), key);
    }

    /// <summary>A client with the credentials of the role the endpoint at <paramref name="path"/> requires: the operator,
    /// the sender Beta for messages (their sender is its CVR), the sender Alpha for batches and other senders'
    /// endpoints, and receiver system "a" of <paramref name="org"/> for receipts.</summary>
    public HttpClient CallerOf(string path, TestOrganisation org) => path switch
    {
        _ when path.StartsWith("/api/receipts", StringComparison.Ordinal) => ReceiverHttp(org, "a"),
        _ when path.StartsWith("/api/messages", StringComparison.Ordinal) => Beta,
        _ when new[] { "/api/organisations", "/api/registry", "/api/print", "/api/operations", "/api/credentials", "/api/audit" }
            .Any(p => path.StartsWith(p, StringComparison.Ordinal)) => Http,
        _ => Alpha,
    };

    /// <summary>The API as the receiver system <paramref name="systemId"/> of <paramref name="org"/> calls it (registered by
    /// <see cref="Organisation"/>, which issued its key).</summary>
    private HttpClient? _mailbox;

    /// <summary>The API as a mailbox provider calls it, handing on post that citizens and companies write.</summary>
    public async Task<HttpClient> MailboxHttp() =>
        _mailbox ??= SenderHttp(await IssueKey(Role.Mailbox, "Postkasseudbyder", NewCvr()));

    public HttpClient ReceiverHttp(TestOrganisation org, string systemId) => SenderHttp(_receiverKeys[org.Simulated(systemId)]);
    private WebApplication _api = null!;
    private WakeUps _wakeUps = null!;
    private IConfiguration _configuration = null!;
    // Grain state is keyed by service id: a cluster restarted on the same storage must be the same service.
    private readonly string _serviceId = "dp-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Where the silo's and the API's logs go besides the console of <c>DIGITALPOST_TEST_LOGS=1</c>; nowhere by default.</summary>
    protected virtual void AddLogging(ILoggingBuilder logging) { }

    /// <summary>The platform's storage settings (<c>Storage:*</c>); none is the in-memory default.</summary>
    protected virtual Task<IReadOnlyDictionary<string, string?>> PrepareStorage() =>
        Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>());

    private IConfiguration Configuration(IReadOnlyDictionary<string, string?> storage) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["ResendFlow:RetryInterval"] = RetryInterval.ToString(),
        ["ResendFlow:ReceiptTimeout"] = ReceiptTimeout.ToString(),
        ["ResendFlow:PushTimeout"] = "00:00:05",
        ["Scheduler:Tick"] = "00:00:00.020",
        ["Smtp:Host"] = "127.0.0.1",
        ["Smtp:Port"] = Smtp.Port.ToString(),
        [$"Operators:{OperatorName}:ApiKey"] = OperatorKey,
        [$"Senders:{AlphaSender}:ApiKey"] = AlphaKey,
        [$"Senders:{AlphaSender}:Name"] = "Alfa Kommune",
        [$"Senders:{AlphaSender}:Cvr"] = "29189846",
        [$"Senders:{BetaSender}:ApiKey"] = BetaKey,
        [$"Senders:{BetaSender}:Name"] = "Beta Styrelse",
        [$"Senders:{BetaSender}:Cvr"] = "12345674",
        // The only sender with a retention period: the retention tests move the clock past it, and no other test's
        // letters may go with theirs. Short, as the clock is shared: a test that moved it by years would age every
        // other test's recipients.
        [$"Senders:{RetentionSender}:ApiKey"] = RetentionKey,
        [$"Senders:{RetentionSender}:Name"] = "Gamma Arkiv",
        [$"Senders:{RetentionSender}:Cvr"] = "29189846",
        [$"Senders:{RetentionSender}:RetentionDays"] = RetentionDays.ToString(),
        ["MassSending:FlushInterval"] = "00:00:00.020",
        ["MassSending:ChunkSize"] = "7",
        // A partition of more than four chunks dispatches them in several steps, so a batch can be caught between two.
        ["MassSending:ChunksPerDispatch"] = "4",
        // Registry files are stored three rows at a time, so every test's load crosses chunks.
        ["Registry:ChunkRows"] = "3",
        ["Print:PrintAfter"] = "1.00:00:00",
        ["Print:HandOverAfter"] = "1.00:00:00",
        ["Webhooks:FirstRetry"] = "00:01:00",
        ["Notifications:Interval"] = "00:01:00",
        ["Notifications:Sms:Endpoint"] = Sms.Endpoint.ToString(),
    }).AddInMemoryCollection(storage).Build();

    public const string OperatorName = "test-operator";
    public const string OperatorKey = "operator-test-key";
    public const string AlphaSender = "alfa-kommune";
    public const string AlphaKey = "alpha-test-key";
    public const string BetaSender = "beta-styrelse";
    public const string BetaKey = "beta-test-key";
    public const string RetentionSender = "gamma-arkiv";
    public const string RetentionKey = "gamma-test-key";
    public const int RetentionDays = 5;

    public virtual async Task InitializeAsync()
    {
        Smtp = await SmtpSink.Start();
        Sms = await SmsSimulator.Start();
        _configuration = Configuration(await PrepareStorage());
        Flow = _configuration.GetSection(ResendFlowOptions.Section).Get<ResendFlowOptions>()!;
        await StartCluster();
        var apiUrl = await StartApi(port: 0);
        Anonymous = new HttpClient { BaseAddress = apiUrl };
        // Most tests act as the platform's operator: registering organisations, loading the registry.
        Http = new HttpClient { BaseAddress = apiUrl, DefaultRequestHeaders = { { "X-Api-Key", OperatorKey } } };
        Alpha = SenderHttp(AlphaKey);
        Beta = SenderHttp(BetaKey);
        Receivers = await ReceiverSimulator.Start(apiUrl);
        Receivers.HashDocuments = true;
    }

    /// <summary>The platform's clock is <paramref name="time"/>; Orleans' own (membership, messaging, timers) stays real.</summary>
    public static void UseFakePlatformClock(ISiloBuilder silo, FakeTimeProvider time)
    {
        silo.Services.AddSingleton<TimeProvider>(time);
        silo.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
        silo.Services.AddKeyedSingleton<TimeProvider>(TimeProviderNames.Grains, TimeProvider.System);
    }

    public virtual async Task DisposeAsync()
    {
        await Receivers.DisposeAsync();
        await _api.DisposeAsync();
        Http.Dispose();
        Anonymous.Dispose();
        Alpha.Dispose();
        Beta.Dispose();
        await Cluster.DisposeAsync();
        await Smtp.DisposeAsync();
        await Sms.DisposeAsync();
    }

    /// <summary>Stops the silo and its HTTP API the hard way, as a crash or a killed process would (no grain gets to
    /// deactivate), and starts them again on the same storage, the API on the same address. Only what the storage
    /// kept survives; the receivers, the SMTP server and the clock are outside the platform and carry on.</summary>
    public async Task Restart()
    {
        var port = Http.BaseAddress!.Port;
        await _api.DisposeAsync();
        foreach (var silo in Cluster.Silos.ToList()) await Cluster.KillSiloAsync(silo);
        await Cluster.DisposeAsync();
        await StartCluster();
        await StartApi(port);
    }

    private async Task StartCluster()
    {
        var cluster = new InProcessTestClusterBuilder(1);
        cluster.Options.ConfigureFileLogging = false;
        cluster.Options.ServiceId = _serviceId;
        cluster.ConfigureSilo((_, silo) =>
        {
            silo.AddDigitalPostPlatform(_configuration);
            // DIGITALPOST_TEST_LOGS=1 shows the silo's warnings and errors while a test runs.
            if (Environment.GetEnvironmentVariable("DIGITALPOST_TEST_LOGS") == "1")
                silo.Services.AddLogging(l => l.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
            silo.Services.AddLogging(AddLogging);
            UseFakePlatformClock(silo, Time);
            // Reminders follow the platform's clock too: they bring the wake-up schedule back after a restart, and a
            // test cannot wait a real minute for that.
            silo.Services.AddKeyedSingleton<TimeProvider>(ReminderTimeProviderNames.Reminders, Time);
        });
        Cluster = cluster.Build();
        await Cluster.DeployAsync();
        Documents = Cluster.Silos[0].ServiceProvider.GetRequiredService<IDocumentStore>();
        _wakeUps = new WakeUps(Client, Options.Create(new SchedulerOptions()));
    }

    /// <summary>The HTTP API in front of the current cluster, on <paramref name="port"/> (0: any free one).</summary>
    private async Task<Uri> StartApi(int port)
    {
        var web = WebApplication.CreateSlimBuilder();
        web.WebHost.UseUrls($"http://127.0.0.1:{port}");
        web.Logging.ClearProviders();
        if (Environment.GetEnvironmentVariable("DIGITALPOST_TEST_LOGS") == "1") web.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        AddLogging(web.Logging);
        web.Services.AddSingleton<IGrainFactory>(Client);
        // The API runs in the silo's process and shares its registry store.
        web.Services.AddSingleton(Cluster.Silos[0].ServiceProvider.GetRequiredService<IRecipientRegistryStore>());
        web.Services.AddSingleton(Cluster.Silos[0].ServiceProvider.GetRequiredService<IVirkMailboxStore>());
        web.Services.AddSingleton(Cluster.Silos[0].ServiceProvider.GetRequiredService<IReplyStore>());
        web.Services.AddSingleton(Cluster.Silos[0].ServiceProvider.GetRequiredService<ISingleMessageStore>());
        web.Services.AddSingleton(Cluster.Silos[0].ServiceProvider.GetRequiredService<IArchiveStore>());
        web.Services.AddSingleton(Cluster.Silos[0].ServiceProvider.GetRequiredService<DigitalPost.Ngdp.INgdpReceiptStore>());
        web.Services.AddSingleton(Cluster.Silos[0].ServiceProvider.GetRequiredService<DigitalPost.Ngdp.IPullQueue>());
        web.Services.AddSingleton<TimeProvider>(Time);
        web.Services.AddSingleton(Documents);
        web.Services.AddDigitalPostApi(_configuration);
        _api = web.Build();
        _api.UseDigitalPostErrors();
        _api.UseDigitalPostAuth();
        _api.MapDigitalPostApi();
        await _api.StartAsync();
        return new Uri(_api.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>Waits until every wake-up that is due has been handled and every receipt posted has been answered.</summary>
    public async Task Settle()
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var quiet = 0;
        while (quiet < 3)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The platform did not settle at {Now:O}.");
            var counts = await _wakeUps.Counts();
            quiet = counts.Due == 0 && Receivers.ReceiptsInFlight == 0 ? quiet + 1 : 0;
            await Task.Delay(10);
        }
    }

    /// <summary>Moves the platform's clock to <paramref name="target"/> in steps, letting the platform catch up after each.</summary>
    public async Task AdvanceTo(DateTimeOffset target, TimeSpan? step = null)
    {
        await Settle();
        while (Now < target)
        {
            var next = Now + (step ?? TimeSpan.FromHours(1));
            Time.SetUtcNow(next < target ? next : target);
            await Settle();
        }
    }

    public Task AdvanceBy(TimeSpan span) => AdvanceTo(Now + span);

    /// <summary>A valid CVR number not used by any other test.</summary>
    public static string NewCvr()
    {
        int[] weights = [2, 7, 6, 5, 4, 3, 2];
        while (true)
        {
            var prefix = Interlocked.Increment(ref _nextCvr).ToString("D7");
            var sum = prefix.Select((c, i) => (c - '0') * weights[i]).Sum();
            var check = (11 - sum % 11) % 11;
            if (check < 10) return prefix + check;
        }
    }

    /// <summary>Registers an organisation with a healthy primary system "a" and a system "b" with the given profile,
    /// each with a contact point ("cp-a", "cp-b"), and issues each system the key it posts its receipts with. Both take
    /// <paramref name="protocol"/>: <see cref="ReceiverProtocol.RestPush"/> systems get MeMos and answer with NgDP
    /// receipts (their simulators refuse anything else).</summary>
    public async Task<TestOrganisation> Organisation(ReceiverProfile b = ReceiverProfile.Healthy, ReceiverProfile a = ReceiverProfile.Healthy, DeactivationPolicy? policy = null,
        ReceiverProtocol protocol = ReceiverProtocol.PlatformJson)
    {
        var org = new TestOrganisation(NewCvr());
        await Put($"/api/organisations/{org.Cvr}", new OrganisationRegistration($"Organisation {org.Cvr}", policy));
        foreach (var (id, profile, primary) in new[] { ("a", a, true), ("b", b, false) })
        {
            Receivers.SetProfile(org.Simulated(id), profile);
            Receivers.SetFormat(org.Simulated(id), protocol == ReceiverProtocol.RestPush ? PushFormat.Memo : PushFormat.Json);
            await Put($"/api/organisations/{org.Cvr}/receiver-systems/{id}",
                new ReceiverSystemBody(Receivers.EndpointOf(org.Simulated(id)), org.TechnicalContact(id), org.BusinessContact(id), primary, Protocol: protocol));
            await Put($"/api/organisations/{org.Cvr}/contact-points/cp-{id}", new ContactPointBody($"Contact point {id}", id));
            await IssueReceiverKey(org, id);
        }
        return org;
    }

    /// <summary>Registers <paramref name="systemId"/> of <paramref name="org"/> as NgDP's <c>REST_PULL</c>, with no endpoint,
    /// its contact point "cp-{id}" and its key. Its simulated system answers as <paramref name="profile"/> says when it
    /// pulls (<see cref="Pull"/>).</summary>
    public async Task PullSystem(TestOrganisation org, string systemId, ReceiverProfile profile = ReceiverProfile.Healthy, bool primary = false, int maxMessagesPerPush = 1)
    {
        Receivers.SetProfile(org.Simulated(systemId), profile);
        await Put($"/api/organisations/{org.Cvr}/receiver-systems/{systemId}", new ReceiverSystemBody(null, org.TechnicalContact(systemId),
            IsPrimary: primary, MaxMessagesPerPush: maxMessagesPerPush, Protocol: ReceiverProtocol.RestPull));
        await Put($"/api/organisations/{org.Cvr}/contact-points/cp-{systemId}", new ContactPointBody($"Contact point {systemId}", systemId));
        await IssueReceiverKey(org, systemId);
    }

    /// <summary>One round of the pull system: its waiting MeMos fetched, answered by its profile and deleted.</summary>
    public Task<int> Pull(TestOrganisation org, string systemId) => Receivers.PullOnce(org.Simulated(systemId));

    public static Message NewMessage(string cvr, string? contactPointId, Guid? uuid = null, DateTimeOffset? valoer = null) => new(
        new MessageHeader(uuid ?? Guid.NewGuid(), "Afgørelse om byggetilladelse", new Sender("12345674", "Testkommune"),
            new Recipient(cvr, RecipientIdType.Cvr, contactPointId), DoNotDeliverUntilDate: valoer),
        new MessageBody(new Document("Afgørelse", [new DocumentFile("afgoerelse.pdf", "application/pdf", "%PDF-1.7 test"u8.ToArray())])));

    /// <summary>Submits a message over HTTP and returns its messageUUID once the platform answered 202.</summary>
    public async Task<Guid> Send(string cvr, string? contactPointId, Guid? uuid = null, DateTimeOffset? valoer = null)
    {
        var message = NewMessage(cvr, contactPointId, uuid, valoer);
        using var response = await Beta.PostAsJsonAsync("/api/messages", message, PlatformJson.Options);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return message.Header.MessageUuid;
    }

    /// <summary>Sends a message that will fail, and returns it with day 0 of its resend flow.</summary>
    public async Task<(Guid Uuid, DateTimeOffset FirstFailedAt)> SendFailing(string cvr, string? contactPointId, Guid? uuid = null)
    {
        var sent = await Send(cvr, contactPointId, uuid);
        await Settle();
        return (sent, (await Status(sent)).FirstFailedAt ?? throw new InvalidOperationException($"Message {sent} did not fail."));
    }

    public async Task<MessageStatusView> Status(Guid uuid) =>
        await Client.GetGrain<IMessageGrain>(uuid).GetStatus() ?? throw new InvalidOperationException($"No message {uuid}.");

    public Task<ReceiverSystemStatus> SystemStatus(TestOrganisation org, string id) =>
        Client.GetGrain<IReceiverSystemGrain>(ReceiverSystemKey.Of(org.Cvr, id)).GetStatus();

    /// <summary>E-mails arrive asynchronously from the outbox: waits (in real time) until the condition holds.</summary>
    public async Task<IReadOnlyList<ReceivedEmail>> EmailsTo(string address, int atLeast)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Smtp.To(address).Count < atLeast && DateTime.UtcNow < deadline) await Task.Delay(20);
        return Smtp.To(address);
    }

    /// <summary>Waits (in real time) for the e-mail to the address that matches: notices of one instant, such as
    /// day 7's forwarding and the deactivation, arrive in either order, so a count alone would not say which came.</summary>
    public async Task<ReceivedEmail> EmailTo(string address, Func<ReceivedEmail, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (Smtp.To(address).FirstOrDefault(match) is { } found) return found;
            await Task.Delay(20);
        }
        throw new Xunit.Sdk.XunitException(
            $"No matching e-mail to {address} within 10 s; it received: {string.Join(" | ", Smtp.To(address).Select(e => e.Subject))}");
    }

    public async Task Put<T>(string path, T body)
    {
        using var response = await Http.PutAsJsonAsync(path, body, PlatformJson.Options);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}

public sealed record TestOrganisation(string Cvr)
{
    public string Simulated(string systemId) => $"{Cvr}-{systemId}";
    public string TechnicalContact(string systemId) => $"drift-{systemId}-{Cvr}@example.dk";
    public string BusinessContact(string systemId) => $"forretning-{systemId}-{Cvr}@example.dk";
}

[CollectionDefinition(Name)]
public sealed class PlatformCollection : ICollectionFixture<PlatformFixture>
{
    public const string Name = "platform";
}
