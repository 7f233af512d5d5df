using System.Net;
using System.Net.Http.Json;
using DigitalPost.Contracts;
using DigitalPost.Grains;
using DigitalPost.Infrastructure;
using DigitalPost.Silo;
using DigitalPost.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static DigitalPost.Tests.Support.Batches;

namespace DigitalPost.Tests.Flow;

/// <summary>Retention per sender on the platform's clock, and erasure of one recipient, on both storages. The sender
/// "gamma-arkiv" keeps its letters <see cref="PlatformFixture.RetentionDays"/> days; no other sender has a period.</summary>
public abstract class RetentionTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : RetentionTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : RetentionTests(platform)
    {
        /// <summary>Every platform table, searched as text for the number, and every grain state in Orleans' storage
        /// table and on a letter's row, searched as bytes (the serializer writes strings as UTF-8, and a chunk packs its rows the same way):
        /// none may hold it.</summary>
        protected override async Task AssertNoTableHolds(string recipientId)
        {
            var states = await PostgresServer.Strings(platform.ConnectionString, $"""
                SELECT graintypestring FROM orleansstorage WHERE position(convert_to('{recipientId}', 'UTF8') IN payloadbinary) > 0
                """);
            Assert.True(states.Count == 0, $"grain states still hold the number: {string.Join(", ", states)}");
            // A batch letter's message grain keeps its state (the message, with the number) on the letter's row: bytes
            // too, which the text search below would not find.
            var letters = await PostgresServer.Strings(platform.ConnectionString, $"""
                SELECT uuid::text FROM letter WHERE position(convert_to('{recipientId}', 'UTF8') IN resend) > 0
                """);
            Assert.True(letters.Count == 0, $"letters' message states still hold the number: {string.Join(", ", letters)}");
            var tables = await PostgresServer.Strings(platform.ConnectionString, """
                SELECT table_name FROM information_schema.tables
                WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'orleans%'
                """);
            Assert.Contains("letter", tables);
            Assert.Contains("citizen", tables);
            foreach (var table in tables)
            {
                await using var connection = new NpgsqlConnection(platform.ConnectionString);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand($"SELECT count(*) FROM \"{table}\" t WHERE strpos(t::text, $1) > 0", connection);
                command.Parameters.AddWithValue(recipientId);
                Assert.True((long)(await command.ExecuteScalarAsync())! == 0, $"table {table} still holds the number");
            }
        }
    }

    protected virtual Task AssertNoTableHolds(string recipientId) => Task.CompletedTask;

    private T Store<T>() where T : notnull => platform.Cluster.Silos[0].ServiceProvider.GetRequiredService<T>();

    [Fact]
    public async Task Letters_older_than_the_senders_retention_period_are_deleted_by_the_job_and_newer_ones_stay()
    {
        var (registered, exempt) = (NewAdultCpr(), NewAdultCpr());
        await platform.LoadCitizens($"{registered};Karen;tilmeldt;nej;;", $"{exempt};Niels;fritaget;nej;;Blegdamsvej 17|2100 København Ø");
        using var gamma = platform.SenderHttp(PlatformFixture.RetentionKey);
        using var alpha = platform.SenderHttp(PlatformFixture.AlphaKey);
        var csv = $"cpr;navn;beloeb\n{registered};Karen;1,00\n{exempt};Niels;2,00";
        var oldSentAt = platform.Now;
        var old = await Sent(gamma, csv);
        var othersOld = await Sent(alpha, csv);
        var recentSentAt = platform.Now;
        var recent = await Sent(gamma, csv);
        // Past the old batch's period (each send took 3 days, print included), within the recent one's.
        Assert.InRange(platform.Now - oldSentAt, TimeSpan.FromDays(PlatformFixture.RetentionDays), TimeSpan.MaxValue);
        Assert.InRange(platform.Now - recentSentAt, TimeSpan.Zero, TimeSpan.FromDays(PlatformFixture.RetentionDays));
        using var run = await platform.Http.PostAsync("/api/retention/run", null);
        Assert.Equal(HttpStatusCode.OK, run.StatusCode);

        var letters = Store<ILetterStore>();
        Assert.Empty(await letters.Load(old));
        // The batch's own grains forgot it: its header and its chunk's CSV rows, with the CPR numbers.
        using (var batch = await gamma.GetAsync($"/api/batches/{old}")) Assert.Equal(HttpStatusCode.NotFound, batch.StatusCode);
        Assert.Empty(await platform.Client.GetGrain<IBatchChunkGrain>(BatchChunkGrain.KeyOf(old, 0)).GetRows());
        Assert.Equal(2, (await platform.Client.GetGrain<IBatchChunkGrain>(BatchChunkGrain.KeyOf(recent, 0)).GetRows()).Count);
        Assert.Equal(2, (await letters.Load(recent)).Count);
        Assert.Equal(2, (await letters.Load(othersOld)).Count);
        Assert.DoesNotContain(old, await letters.BatchesDescribedBefore(PlatformFixture.RetentionSender, platform.Now));
        // The citizen's mailbox keeps the recent letter only, and the other sender's.
        var mailbox = await Store<ICitizenLaneStore>().Of(LetterLane.CitizenMailbox, registered);
        Assert.Equal([PlatformFixture.AlphaSender, PlatformFixture.RetentionSender], mailbox.Select(l => l.SenderId).Order());
        Assert.Single(mailbox, l => l.SenderId == PlatformFixture.RetentionSender && l.At >= recentSentAt);
        using var archive = await gamma.GetAsync($"/api/archive/{registered}");
        var kept = (await archive.Content.ReadFromJsonAsync<ArchiveCase>(PlatformJson.Options))!;
        Assert.Equal([recent], kept.Letters.Select(l => l.BatchId));
    }

    [Fact]
    public async Task Messages_sent_one_at_a_time_are_deleted_with_their_grain_state_after_the_senders_period_and_newer_ones_stay()
    {
        var citizen = NewAdultCpr();
        await platform.LoadCitizens($"{citizen};Karen;tilmeldt;nej;;");
        using var gamma = platform.SenderHttp(PlatformFixture.RetentionKey);
        using var beta = platform.SenderHttp(PlatformFixture.BetaKey);
        var old = await SendOne(gamma, GammaCvr, citizen);
        var othersOld = await SendOne(beta, BetaCvr, citizen);
        await platform.AdvanceBy(TimeSpan.FromDays(PlatformFixture.RetentionDays + 1));
        var recent = await SendOne(gamma, GammaCvr, citizen);

        // The job's own wake-up may have run meanwhile (the clock passed its interval): what it deleted is checked, not counted.
        using var run = await platform.Http.PostAsync("/api/retention/run", null);
        Assert.Equal(HttpStatusCode.OK, run.StatusCode);

        using (var status = await gamma.GetAsync($"/api/messages/{old}")) Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        Assert.Null(await platform.Client.GetGrain<IMessageGrain>(old).GetStatus());
        using (var status = await gamma.GetAsync($"/api/messages/{recent}")) Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        using (var status = await beta.GetAsync($"/api/messages/{othersOld}")) Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.DoesNotContain(old, await Store<ISingleMessageStore>().To(citizen));
        Assert.Contains(recent, await Store<ISingleMessageStore>().To(citizen));
    }

    [Fact]
    public async Task An_erasure_leaves_no_trace_of_the_CPR_number_in_any_store()
    {
        var (person, other) = (NewAdultCpr(), NewAdultCpr());
        var child = NewCpr(DateOnly.FromDateTime(platform.Now.UtcDateTime).AddYears(-12));
        await platform.LoadCitizens($"{person};Karen;tilmeldt;nej;;Vej 1|1000 København K", $"{other};Bo;tilmeldt;nej;;",
            $"{child};Sofie;tilmeldt;nej;{person}|{other};");
        // Senders without a retention period, so the job cannot take the letters first.
        using var beta = platform.SenderHttp(PlatformFixture.BetaKey);
        using var alpha = platform.SenderHttp(PlatformFixture.AlphaKey);
        // A letter of the person's own from two senders, and a copy to them as the child's guardian.
        var batches = new[] { await Sent(beta, $"cpr;navn;beloeb\n{person};Karen;1,00\n{child};Sofie;2,00"), await Sent(alpha, $"cpr;navn;beloeb\n{person};Karen;3,00") };
        Assert.Equal(3, await LettersTo(person, batches));
        // And a message sent to them on its own, which lives in its message grain.
        var single = await SendOne(beta, BetaCvr, person);

        using var erase = await platform.Http.PostAsJsonAsync("/api/erasure", new { recipientId = person[..6] + "-" + person[6..] });
        Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
        var report = (await erase.Content.ReadFromJsonAsync<ErasureReport>(PlatformJson.Options))!;

        Assert.Equal((RecipientKind.Cpr, 4L, 4L, 1L, 1L), (report.Kind, report.Letters, report.MailboxLetters, report.RegistryCitizens, report.RegistryGuardianEntries));
        Assert.Equal((2L, 1L), (report.BatchRows, report.MessageStates));
        Assert.Equal(0, await LettersTo(person, batches));
        using (var status = await beta.GetAsync($"/api/messages/{single}")) Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        Assert.Null(await platform.Client.GetGrain<IMessageGrain>(single).GetStatus());
        // The batches' chunks keep the child's row and lose the person's.
        var rows = (await Task.WhenAll(batches.Select(b => platform.Client.GetGrain<IBatchChunkGrain>(BatchChunkGrain.KeyOf(b, 0)).GetRows()))).SelectMany(r => r).ToList();
        Assert.Equal([child], rows.Select(r => r.RecipientId));
        // The child's letter and the other guardian's copy stay.
        Assert.Equal(2, (await Store<ILetterStore>().Load(batches[0])).Count);
        Assert.Empty(await Store<ICitizenLaneStore>().Of(LetterLane.CitizenMailbox, person));
        Assert.Single(await Store<ICitizenLaneStore>().Of(LetterLane.CitizenMailbox, child));
        var found = await Store<IRecipientRegistryStore>().Lookup([new RecipientQuery(RecipientKind.Cpr, person), new RecipientQuery(RecipientKind.Cpr, child)]);
        Assert.Equal(RecipientVerdict.Unknown, found[0].Verdict);
        Assert.Equal([other], found[1].Guardians);
        foreach (var sender in new[] { beta, alpha })
        {
            using var archive = await sender.GetAsync($"/api/archive/{person}");
            Assert.Equal(HttpStatusCode.NotFound, archive.StatusCode);
        }
        await AssertNoTableHolds(person);
    }

    [Theory]
    [InlineData("{}", "is missing")]
    [InlineData("{\"recipientId\": \"12345\"}", "has 5 digits")]
    [InlineData("{\"recipientId\": \"12345678\"}", "is not a CVR number")]
    public async Task An_erasure_without_a_valid_CPR_or_CVR_number_is_refused_with_where_and_why(string body, string reason)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var erase = await platform.Http.PostAsync("/api/erasure", content);
        Assert.Equal(HttpStatusCode.BadRequest, erase.StatusCode);
        var problem = await erase.Content.ReadAsStringAsync();
        Assert.Contains("recipientId", problem);
        Assert.Contains(reason, problem);
    }

    private const string BetaCvr = "12345674", GammaCvr = "29189846";

    /// <summary>Sends a message on its own (<c>POST /api/messages</c>) to a citizen, as the sender's authority.</summary>
    private static async Task<Guid> SendOne(HttpClient sender, string senderCvr, string cpr)
    {
        var message = new Message(new MessageHeader(Guid.NewGuid(), "Brev", new Sender(senderCvr), new Recipient(cpr, RecipientIdType.Cpr)),
            new MessageBody(new Document("Brev", [new DocumentFile("brev.pdf", "application/pdf", "%PDF-1.7 brev"u8.ToArray())])));
        using var response = await sender.PostAsJsonAsync("/api/messages", message, PlatformJson.Options);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return message.Header.MessageUuid;
    }

    private async Task<int> LettersTo(string recipientId, IEnumerable<Guid> batches)
    {
        var count = 0;
        foreach (var batch in batches) count += (await Store<ILetterStore>().Load(batch)).Values.Count(l => l.RecipientId == recipientId);
        return count;
    }

    /// <summary>Uploads a batch and waits until every letter is final: print-lane letters are printed and handed over a
    /// day apart on the platform's clock.</summary>
    private async Task<Guid> Sent(HttpClient sender, string csv)
    {
        var upload = await sender.SubmitBatch(new BatchOptions("Brev", BatchId: $"retention-{Guid.NewGuid():N}"), csv);
        Assert.Equal(HttpStatusCode.Accepted, upload.Status);
        await sender.WaitFor(upload.Body!.BatchId, s => s.Counts.Pending == 0 && s.Counts.Queued == 0, "its letters out of pending");
        await platform.AdvanceBy(TimeSpan.FromDays(3));
        await sender.WaitForCompletion(upload.Body.BatchId);
        return upload.Body.BatchId;
    }
}
