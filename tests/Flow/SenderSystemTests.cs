using System.Net.Http.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Batches;
using DigitalPost.Tests.Support;
using Spectre.Console;
using static DigitalPost.Tests.Support.Batches;

namespace DigitalPost.Tests.Flow;

/// <summary>What a sender system sees from outside: its webhook, and the load generator's <c>send</c> command.</summary>
public abstract class SenderSystemTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : SenderSystemTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : SenderSystemTests(platform);

    [Fact]
    public async Task Every_status_change_reaches_the_senders_webhook_after_the_webhook_refused_pushes_for_a_while()
    {
        await using var webhook = await WebhookCollector.Start();
        using var sender = platform.SenderHttp(PlatformFixture.BetaKey);
        using (var put = await sender.PutAsJsonAsync("/api/senders/me/webhook", new { url = webhook.Url }, PlatformJson.Options))
            put.EnsureSuccessStatusCode();
        var people = Enumerable.Range(0, 3).Select(_ => NewAdultCpr()).ToArray();
        await platform.LoadCitizens([.. people.Select(p => $"{p};Modtager;tilmeldt;nej;;")]);
        webhook.FailNext(3);

        var upload = await sender.SubmitBatch(new BatchOptions("Varsel", BatchId: $"webhook-{Guid.NewGuid():N}"),
            "cpr;navn;beloeb\n" + string.Join("\n", people.Concat([NewAdultCpr(), NewAdultCpr()]).Select(p => $"{p};Modtager;1,00")));
        await sender.WaitForCompletion(upload.Body!.BatchId);
        var refused = await WaitUntil(() => webhook.Pushes >= 1 && platform.Client.GetGrain<ISenderGrain>(PlatformFixture.BetaSender).GetStatus().Result.LastError is not null);
        Assert.True(refused, "the webhook was never tried");
        Assert.Equal(1, webhook.Pushes);
        Assert.Empty(webhook.Events);

        // Retries back off on the platform's clock: 1, 2, 4 minutes. A minute at a time, so each retry goes out when due.
        int Delivered() => webhook.Events.Count(e => e.BatchId == upload.Body.BatchId && e.State == LetterState.Delivered);
        for (var minutes = 0; minutes < 15 && Delivered() < 3; minutes++) await platform.AdvanceBy(TimeSpan.FromMinutes(1));
        await WaitUntil(() => Delivered() == 3);

        var mine = webhook.Events.Where(e => e.BatchId == upload.Body.BatchId).ToList();
        var letters = await sender.Letters(upload.Body.BatchId);
        Assert.All(letters.Where(l => l.MessageUuid is not null), l => Assert.Single(mine, e => e.MessageUuid == l.MessageUuid && e.State == LetterState.Delivered));
        Assert.Equal(5, mine.Select(e => e.Row).Distinct().Count());
        // Letters returned before any message was made have no messageUuid: each still has its own event.
        Assert.Equal([4, 5], mine.Where(e => e.State == LetterState.Returned).Select(e => e.Row).Order());
        Assert.True(webhook.Pushes > 3);
        var status = await platform.Client.GetGrain<ISenderGrain>(PlatformFixture.BetaSender).GetStatus();
        Assert.Equal((0, (string?)null), (status.Pending, status.LastError));
    }

    [Fact]
    public async Task The_load_generators_send_uploads_a_CSV_and_template_follows_the_batch_and_prints_its_summary()
    {
        var (registered, exempt) = (NewAdultCpr(), NewAdultCpr());
        await platform.LoadCitizens($"{registered};Karen Blixen;tilmeldt;nej;;", $"{exempt};Niels Bohr;fritaget;nej;;Blegdamsvej 17|2100 København Ø");
        var folder = Directory.CreateTempSubdirectory("loadgen-send-");
        try
        {
            var csv = new FileInfo(Path.Combine(folder.FullName, "modtagere.csv"));
            await File.WriteAllTextAsync(csv.FullName, $"cpr;navn;beloeb\n{registered};Karen Blixen;100,00\n{exempt};Niels Bohr;200,00\n12345;Forkert;1,00\n");
            var template = new FileInfo(Path.Combine(folder.FullName, "brev.liquid"));
            await File.WriteAllTextAsync(template.FullName, Template);
            var output = new StringWriter();
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Interactive = InteractionSupport.No, Ansi = AnsiSupport.No });

            var summary = await Send.Run(new SendSettings(platform.Http.BaseAddress!, PlatformFixture.AlphaKey, csv, template,
                new BatchOptions("Rykker", ChannelChoice.DigitalPost, BatchId: $"loadgen-{Guid.NewGuid():N}"), [], [], TimeSpan.FromSeconds(30)), console, CancellationToken.None);

            Assert.Equal(BatchPhase.Completed, summary.Final!.Phase);
            Assert.Equal((2, 1, 1, 1), (summary.Final.Counts.Accepted, summary.Final.Counts.RejectedRows, summary.Final.Counts.Delivered, summary.Final.Counts.Returned));
            Assert.Equal(LetterState.Returned, Assert.Single(summary.Errors).State);
            var text = output.ToString();
            Assert.Contains("2 rows accepted, 1 rejected", text);
            Assert.Contains("row 3, cpr:", text);
            Assert.Contains("Completed", text);
            Assert.Contains("NOT_REGISTERED", text);
        }
        finally { folder.Delete(recursive: true); }
    }

    private static async Task<bool> WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(20);
        }
        return true;
    }
}
