using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Grains;
using DigitalPost.Infrastructure;
using DigitalPost.Retention;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace DigitalPost.Tests.Postgres;

/// <summary>The retention job over every store it deletes from, in memory and on PostgreSQL, with slices smaller than
/// what there is to delete, on a fake clock.</summary>
public sealed class RetentionStoresTests(PostgresServerFixture postgres) : IClassFixture<PostgresServerFixture>
{
    private const string Kept = "kept-sender", Expiring = "expiring-sender";

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task The_job_deletes_a_senders_batches_past_its_period_with_their_entries_in_every_store_and_keeps_the_rest(string kind)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 5, 8, 0, 0, TimeSpan.Zero));
        await using var db = kind == "memory" ? null : NpgsqlDataSource.Create(await Database());
        ILetterStore letters = db is null ? new MemoryLetterStore(clock) : new PostgresLetterStore(db, clock);
        IArchiveStore archive = db is null ? new MemoryArchiveStore(clock) : new PostgresArchiveStore(db, clock);
        IPrintStore print = db is null ? new MemoryPrintStore() : new PostgresPrintStore(db);
        ICitizenLaneStore lanes = db is null ? new MemoryCitizenLaneStore() : new PostgresCitizenLaneStore(db);
        IWebhookOutbox outbox = db is null ? new MemoryWebhookOutbox(clock) : new PostgresWebhookOutbox(db, clock);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"Senders:{Expiring}:RetentionDays"] = "30",
            [$"Senders:{Kept}:ApiKey"] = "no period of its own, and no default",
        }).Build();
        ISingleMessageStore singles = db is null ? new MemorySingleMessageStore() : new PostgresSingleMessageStore(db);
        IDocumentStore documents = db is null ? new MemoryDocumentStore() : new PostgresDocumentStore(db);
        // No cluster here: what the job asks of grain states is recorded (RetentionTests covers the grains themselves).
        var states = new AskedGrainStates();
        var job = new RetentionJob(letters, lanes, outbox, singles, new MessageTraces(archive, print, documents, states), states,
            new RetentionPeriods(configuration), Options.Create(new RetentionOptions { DeleteSlice = 3 }), clock, NullLogger<RetentionJob>.Instance);
        async Task<Guid> Single(string sender)
        {
            var uuid = Guid.NewGuid();
            await singles.Record(new SingleMessage(uuid, sender, "0101700001", clock.GetUtcNow()));
            return uuid;
        }

        async Task<Guid> Batch(string sender, int count)
        {
            var batchId = Guid.NewGuid();
            await letters.Describe(batchId, sender, "Brev");
            // Every third letter went through its message grain (an archive entry of its own), every fifth to print.
            var made = Enumerable.Range(1, count).Select(row => new LetterRecord
            {
                Row = row, MessageUuid = Guid.NewGuid(), State = LetterState.Delivered, Kind = RecipientKind.Cpr, RecipientId = $"01017000{row:D2}",
                Lane = row % 3 == 0 ? LetterLane.MessageGrain : row % 5 == 0 ? LetterLane.Print : LetterLane.CitizenMailbox,
            }).ToList();
            await letters.Insert(batchId, made, l => $"case-{sender}-{l.RecipientId}");
            await archive.Append([.. made.Where(l => l.Lane == LetterLane.MessageGrain).Select(l => new ArchiveEntry($"case-{sender}-{l.RecipientId}", l.Kind,
                new ArchivedLetter(l.MessageUuid!.Value, batchId, l.Row, 0, "Brev", LetterState.Delivered, clock.GetUtcNow(), [])))]);
            await print.Enqueue([.. made.Where(l => l.Lane == LetterLane.Print).Select(l => new QueuedPrint(
                new PrintJob(l.MessageUuid!.Value, ["Vej 1"], 1, new BatchRef(batchId, l.Row)), MessageStatus.SentToPrint, clock.GetUtcNow().AddDays(90)))]);
            await lanes.Append(LetterLane.CitizenMailbox, [.. made.Where(l => l.Lane == LetterLane.CitizenMailbox)
                .Select(l => new CitizenLetter(l.MessageUuid!.Value, l.RecipientId, sender, "Brev", clock.GetUtcNow()))]);
            await outbox.Append(sender, [.. made.Select(l => new WebhookEvent($"e{l.Row}", batchId, "b", l.Row, 0, l.MessageUuid!.Value, LetterState.Delivered, clock.GetUtcNow(), null, null))], perRun: 2);
            return batchId;
        }

        var old = await Batch(Expiring, 10);
        var othersOld = await Batch(Kept, 5);
        var oldSingles = new[] { await Single(Expiring), await Single(Expiring), await Single(Expiring), await Single(Expiring) };
        var othersOldSingle = await Single(Kept);
        clock.Advance(TimeSpan.FromDays(20));
        var recentAt = clock.GetUtcNow();
        var recent = await Batch(Expiring, 4);
        var recentSingle = await Single(Expiring);
        clock.Advance(TimeSpan.FromDays(11));
        var oldThroughGrains = (await letters.MessageIdsOutsideBulk([old])).ToHashSet();

        var run = await job.Run();

        var expired = Assert.Single(run.Senders);
        Assert.Equal((Expiring, 30, 1, 10L, 3L, 2L, 5L, 5L, 4L), (expired.SenderId, expired.RetentionDays, expired.Batches, expired.Letters,
            expired.ArchiveEntries, expired.PrintJobs, expired.MailboxLetters, expired.WebhookRuns, expired.SingleMessages));
        // The old batch's grains, the states of its letters that went through message grains, and the old single messages'.
        Assert.Equal([old], states.Batches);
        Assert.Equal(oldThroughGrains.Concat(oldSingles).Order(), states.Messages.Order());
        Assert.Equal(new[] { othersOldSingle, recentSingle }.Order(), (await singles.To("0101700001")).Order());
        Assert.Empty(await letters.Load(old));
        Assert.Equal(4, (await letters.Load(recent)).Count);
        Assert.Equal(5, (await letters.Load(othersOld)).Count);
        Assert.DoesNotContain(old, await letters.BatchesDescribedBefore(Expiring, clock.GetUtcNow()));
        Assert.Equal(4, await outbox.Count(Expiring));
        Assert.Equal(5, await outbox.Count(Kept));
        // The kept sender's print job stays; the expired batch's two are gone.
        Assert.Equal(1, (await print.Counts()).WaitingToPrint);
        Assert.Null(await archive.Case($"case-{Expiring}-0101700006"));
        Assert.NotNull(await archive.Case($"case-{Expiring}-0101700003"));
        Assert.NotNull(await archive.Case($"case-{Kept}-0101700003"));
        var mailbox = await lanes.Of(LetterLane.CitizenMailbox, "0101700001");
        Assert.Equal([(Expiring, recentAt), (Kept, recentAt - TimeSpan.FromDays(20))], mailbox.Select(l => (l.SenderId, l.At)).OrderBy(l => l.SenderId));

        // A second run finds nothing more.
        var again = Assert.Single((await job.Run()).Senders);
        Assert.Equal((0, 0L, 0L, 0L), (again.Batches, again.Letters, again.MailboxLetters, again.SingleMessages));
    }

    private sealed class AskedGrainStates : IGrainStates
    {
        public List<Guid> Messages { get; } = [];
        public List<Guid> Batches { get; } = [];

        public Task<long> ClearMessages(IReadOnlyList<Guid> messageUuids)
        {
            Messages.AddRange(messageUuids);
            return Task.FromResult((long)messageUuids.Count);
        }

        public Task ForgetBatches(IReadOnlyList<Guid> batchIds)
        {
            Batches.AddRange(batchIds);
            return Task.CompletedTask;
        }
    }

    private async Task<string> Database()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        await new PostgresSchema(connectionString).ApplyAsync();
        return connectionString;
    }
}
