using System.Net.Http.Json;
using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.LoadGen.Batches;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans.Configuration;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace DigitalPost.Tests.Postgres;

/// <summary>Three silo processes on one PostgreSQL, as <c>deploy/cluster.sh</c> runs them, and one of them killed
/// with SIGKILL in the middle of a merge batch.</summary>
public sealed class ClusterFailoverTests(PostgresServerFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresServerFixture>
{
    private const string SenderId = "klynge";
    private const string ApiKey = "klynge-key";
    private const string OperatorKey = "klynge-operator-key";
    private const int Rows = 2000;
    private const int Organisations = 20;

    [Fact]
    public async Task A_silo_killed_by_SIGKILL_in_the_middle_of_a_batch_loses_no_letter_and_every_letter_reaches_exactly_one_final_state()
    {
        // Pooled, and few enough per silo that three silos stay within the test server's 50 connections.
        var connectionString = new NpgsqlConnectionStringBuilder(await postgres.Server.CreateDatabaseAsync()) { Pooling = true, MaxPoolSize = 12 }.ConnectionString;
        var cluster = new ClusterOptions { ClusterId = $"failover-{Guid.NewGuid():N}"[..20], ServiceId = "digitalpost" };
        var settings = new Dictionary<string, string>
        {
            ["Storage:Provider"] = "PostgreSQL",
            ["Storage:ConnectionString"] = connectionString,
            ["Orleans:ClusterId"] = cluster.ClusterId,
            ["Orleans:ServiceId"] = cluster.ServiceId,
            // A dead silo is declared dead after three missed probes of two seconds, not Orleans' default 15 s.
            ["Orleans:Membership:ProbeTimeout"] = "00:00:02",
            ["Orleans:Membership:NumMissedProbesLimit"] = "3",
            // A push or receipt lost with the killed silo is retried within the test's time, not after 15 minutes.
            ["ResendFlow:ReceiptTimeout"] = "00:00:15",
            ["ResendFlow:RetryInterval"] = "00:00:03",
            ["MassSending:ReconcileAfter"] = "00:00:05",
            // Eight partitions of a chunk each, spread over the silos: the killed silo holds some of them besides the batch.
            ["MassSending:ChunkSize"] = "250",
            ["MassSending:ChunksPerPartition"] = "1",
            [$"Senders:{SenderId}:ApiKey"] = ApiKey,
            [$"Senders:{SenderId}:Name"] = "Klynge Kommune",
            [$"Senders:{SenderId}:Cvr"] = "29189846",
            ["Operators:klynge-drift:ApiKey"] = OperatorKey,
            ["Smtp:PickupDirectory"] = Path.Combine(Path.GetTempPath(), $"digitalpost-mail-{Guid.NewGuid():N}"),
            ["Logging:LogLevel:Default"] = "Warning",
        };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var silos = Enumerable.Range(0, 3).Select(_ => SiloProcess.Start(settings)).ToList();
        try
        {
            // Generous for the same reason as the waits below: on two starved cores three silos starting at once have
            // each been seen to take over a minute to join (a start that never completes still fails the test).
            await Task.WhenAll(silos.Select(s => s.WaitUntilHealthy(TimeSpan.FromMinutes(4))));
            using var clientHost = await ConnectClient(connectionString, cluster);
            var grains = clientHost.Services.GetRequiredService<IClusterClient>();
            var management = grains.GetGrain<IManagementGrain>(0);
            Assert.Equal(3, (await management.GetHosts(onlyActive: true)).Count);
            output.WriteLine($"{clock.Elapsed}: three silos active");

            // The hardest case: the silo that dies hosts the batch itself, besides its share of the letters' messages.
            // The batch is activated (it stays unbegun) to learn where it lives; the test talks to another silo.
            var senderBatchId = $"failover-{Guid.NewGuid():N}";
            var batch = grains.GetGrain<IMergeBatchGrain>(BatchIds.Batch(SenderId, senderBatchId));
            Assert.Null(await batch.GetStatus());
            var batchHost = await management.GetActivationAddress(batch) ?? throw new InvalidOperationException("The batch has no activation.");
            var victim = silos.Single(s => s.SiloPort == batchHost.Endpoint.Port);
            var front = silos.First(s => s != victim);

            await using var receivers = await ReceiverSimulator.Start(front.Url);
            // Both lanes at once: most letters are delivered in bulk by the batch alone; the fifth that gets a negative
            // receipt is taken over by its message grain, spread over the silos, and sent again.
            using var platform = new PlatformClient(front.Url, ApiKey, operatorKey: OperatorKey);
            // The sender's own system hears every letter's final state, also those the killed silo had heard of last.
            await using var webhook = await WebhookCollector.Start();
            await platform.SetWebhook(webhook.Url);
            var companies = Enumerable.Range(0, Organisations).Select(_ => PlatformFixture.NewCvr()).ToList();
            foreach (var cvr in companies)
            {
                // Each organisation's system posts its receipts with its own key: one simulated system each.
                receivers.SetProfile($"erp-{cvr}", ReceiverProfile.Flaky);
                await platform.RegisterOrganisation(cvr, new OrganisationRegistration($"Klyngefirma {cvr}"));
                receivers.SetApiKey($"erp-{cvr}", await platform.RegisterReceiverSystem(cvr, "erp", receivers.EndpointOf($"erp-{cvr}"), $"drift@{cvr}.dk", isPrimary: true));
            }
            await platform.LoadRegistry("companies", Csv("cvr;navn;postkasse;pnumre;adresse", companies.Select(c => $"{c};Klyngefirma {c};aktiv;;")));

            using var sender = new HttpClient { BaseAddress = front.Url, Timeout = TimeSpan.FromSeconds(30) };
            sender.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
            var upload = await sender.SubmitBatch(new BatchOptions("Opkrævning", ChannelChoice.DigitalPost, BatchId: senderBatchId),
                "cvr;navn;beloeb\n" + string.Join("\n", Enumerable.Range(0, Rows).Select(i => $"{companies[i % Organisations]};Firma {i};{i},00")));
            Assert.Equal(Rows, upload.Body!.Status!.Counts.Accepted);
            var batchId = upload.Body.BatchId;
            output.WriteLine($"{clock.Elapsed}: {Rows} rows accepted");

            var before = await WaitFor(sender, batchId, s => s.Counts.Delivered >= Rows / 5, "a fifth of its letters delivered");
            var messagesOnVictim = (await management.GetSimpleGrainStatistics([batchHost]))
                .Where(s => s.GrainType.Contains(nameof(DigitalPost.Grains.MessageGrain), StringComparison.Ordinal)).Sum(s => s.ActivationCount);
            victim.Kill();
            output.WriteLine($"{clock.Elapsed}: killed the silo on port {victim.SiloPort} with the batch and {messagesOnVictim} message activations; " +
                $"the batch had {before.Counts.Delivered} delivered, {before.Counts.Pending} pending, {before.Counts.Queued} queued");
            Assert.True(before.Phase == BatchPhase.Sending, "the batch was not sending when the silo was killed");
            Assert.True(messagesOnVictim > 0, "no message grain lived on the killed silo");

            BatchStatusView done;
            try { done = await WaitFor(sender, batchId, s => s.Phase == BatchPhase.Completed, "completed after the kill"); }
            catch (TimeoutException)
            {
                // What the letters the batch still waits for are doing, as their messages tell it.
                foreach (var open in (await platform.GetLetters(batchId, errorsOnly: false)).Where(l => !l.State.IsFinal()).Take(10))
                {
                    var message = open.MessageUuid is { } uuid ? await grains.GetGrain<IMessageGrain>(uuid).GetStatus() : null;
                    output.WriteLine($"row {open.Row}: {open.State}; message {message?.Status}, next action {message?.NextActionAt}, " +
                        string.Join(", ", message?.History.Select(e => $"{e.At:HH:mm:ss.f} {e.Kind}") ?? []));
                }
                throw;
            }
            var letters = await platform.GetLetters(batchId, errorsOnly: false);
            output.WriteLine($"{clock.Elapsed}: batch completed");

            // What the platform shows: every accepted letter once, final, delivered, with a message of its own.
            Assert.Equal((Rows, Rows, 1.0), (done.Counts.Accepted, done.Counts.Delivered, done.Progress));
            Assert.Equal(Enumerable.Range(1, Rows), letters.Select(l => l.Row));
            Assert.All(letters, l => Assert.Equal(LetterState.Delivered, l.State));
            Assert.Equal(Rows, letters.Select(l => l.MessageUuid).Distinct().Count());
            // And each message itself: delivered once, by one positive receipt, whatever it went through.
            var messages = await Task.WhenAll(letters.Select(l => grains.GetGrain<IMessageGrain>(l.MessageUuid!.Value).GetStatus()));
            Assert.All(messages, m =>
            {
                Assert.Equal(MessageStatus.Delivered, m!.Status);
                Assert.Single(m.Attempts, a => a.Outcome == AttemptOutcome.Positive);
                Assert.Single(m.History, e => e.Kind == MessageEventKind.ReceiptPositive);
            });
            // The receiver system got every message; a push the killed silo never recorded may have come twice.
            var pushed = receivers.Pushes.Select(p => p.MessageUuid).ToHashSet();
            Assert.All(letters, l => Assert.Contains(l.MessageUuid!.Value, pushed));
            output.WriteLine($"{clock.Elapsed}: {receivers.Pushes.Count} pushes for {Rows} messages");
            // Every letter's final state reached the sender's webhook (repeats are one event: same id).
            await WaitForEvents(webhook, batchId);
            Assert.Equal(letters.Select(l => (l.Row, l.MessageUuid!.Value)).Order(),
                webhook.Events.Where(e => e.BatchId == batchId && e.State == LetterState.Delivered).Select(e => (e.Row, e.MessageUuid)).Order());
            Assert.Equal(["6"], await PostgresServer.Strings(connectionString,
                $"SELECT status::text FROM orleansmembershiptable WHERE port = {victim.SiloPort}"));
        }
        finally
        {
            foreach (var silo in silos)
            {
                if (silo.Output.Length > 0) output.WriteLine($"silo {silo.SiloPort}:\n{silo.Output}");
                await silo.DisposeAsync();
            }
        }
    }

    private static async Task WaitForEvents(WebhookCollector webhook, Guid batchId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (webhook.FinalEvents(batchId) < Rows && DateTime.UtcNow < deadline) await Task.Delay(250);
    }

    private static async Task<IHost> ConnectClient(string connectionString, ClusterOptions cluster)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleansClient(client => client
            .UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = ("Npgsql", connectionString))
            .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (cluster.ClusterId, cluster.ServiceId)));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static MemoryStream Csv(string header, IEnumerable<string> rows) =>
        new(Encoding.UTF8.GetBytes(header + "\n" + string.Join("\n", rows) + "\n"));

    /// <summary>Polls the batch until <paramref name="condition"/> holds. While the cluster recovers from the kill a
    /// status query may fail; that is waited out, not a result.</summary>
    private static async Task<BatchStatusView> WaitFor(HttpClient sender, Guid batchId, Func<BatchStatusView, bool> condition, string what)
    {
        // Generous: with the rest of the suite running beside it, two cores carry three silos, PostgreSQL and the
        // receivers, and a letter the dead silo held may need its receipt deadline and a resend to finish.
        var deadline = DateTime.UtcNow.AddSeconds(150);
        BatchStatusView? last = null;
        string? lastError = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await sender.GetAsync($"/api/batches/{batchId}");
                if (response.IsSuccessStatusCode)
                {
                    last = await response.Content.ReadFromJsonAsync<BatchStatusView>(PlatformJson.Options);
                    // Right at every moment, also while the cluster recovers: each letter in exactly one state.
                    if (last is not null) Assert.True(last.Counts.InStates() == Rows, $"counted {last.Counts.InStates()} letters for {Rows}: {last.Counts}");
                    if (last is not null && condition(last)) return last;
                }
                else lastError = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { lastError = e.Message; }
            await Task.Delay(250);
        }
        throw new TimeoutException($"Batch {batchId} never got {what}. Last status: {System.Text.Json.JsonSerializer.Serialize(last, PlatformJson.Options)}; last error: {lastError}");
    }
}
