using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Grains;
using DigitalPost.Infrastructure;
using DigitalPost.Tests.Support;
using Npgsql;

namespace DigitalPost.Tests.Postgres;

/// <summary>The platform's own tables on a real PostgreSQL: the bulk paths (COPY first, upsert or skip on a repeat)
/// and the webhook outbox read from the pusher's place.</summary>
public sealed class PostgresStoresTests(PostgresServerFixture postgres) : IClassFixture<PostgresServerFixture>
{
    private async Task<NpgsqlDataSource> Database()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync();
        await new PostgresSchema(connectionString).ApplyAsync();
        return NpgsqlDataSource.Create(connectionString);
    }

    [Fact]
    public async Task The_webhook_outbox_gives_events_in_order_from_the_readers_place_and_drops_exactly_the_range_pushed()
    {
        await using var db = await Database();
        var outbox = new PostgresWebhookOutbox(db);
        var batch = Guid.NewGuid();
        WebhookEvent Event(int row) => new($"e{row}", batch, "b1", row, 0, Guid.NewGuid(), LetterState.Delivered, DateTimeOffset.UnixEpoch.AddDays(row), null, null);
        await outbox.Append("s1", [Event(1), Event(2), Event(3)]);
        await outbox.Append("s2", [Event(9)]);
        await outbox.Append("s1", [Event(4), Event(5)]);

        var first = await outbox.Next("s1", 0, 2);
        Assert.Equal(["e1", "e2"], first.Select(EventId));
        await outbox.Remove("s1", first[0].Sequence, first[^1].Sequence);
        var rest = await outbox.Next("s1", first[^1].Sequence, 10);

        Assert.Equal(["e3", "e4", "e5"], rest.Select(EventId));
        Assert.Equal(3, await outbox.Count("s1"));
        Assert.Equal(1, await outbox.Count("s2"));
        // The push body is the stored JSON as it was appended.
        var body = JsonDocument.Parse(WebhookJson.Body(rest)).RootElement.GetProperty("events");
        Assert.Equal([3, 4, 5], body.EnumerateArray().Select(e => e.GetProperty("row").GetInt32()));
    }

    [Fact]
    public async Task The_archive_appends_by_copy_and_skips_letters_it_has_when_they_come_again()
    {
        await using var db = await Database();
        var archive = new PostgresArchiveStore(db, TimeProvider.System);
        var batch = Guid.NewGuid();
        ArchiveEntry Entry(int row) => new("case-1", RecipientKind.Cvr, new ArchivedLetter(
            BatchIds.Letter(batch, row, 0, 0), batch, row, 0, "Brev", LetterState.Delivered, DateTimeOffset.UnixEpoch, []));

        await archive.Append([Entry(1), Entry(2)]);
        await archive.Append([Entry(2), Entry(3)]);

        var found = await archive.Case("case-1");
        Assert.Equal([1, 2, 3], found!.Letters.Select(l => l.Row).Order());
    }

    [Fact]
    public async Task Inserting_letters_of_which_one_is_stored_and_final_keeps_its_final_state_and_stores_the_rest()
    {
        await using var db = await Database();
        var store = new PostgresLetterStore(db, TimeProvider.System);
        var batch = Guid.NewGuid();
        LetterRecord Letter(int row) => new()
        {
            Row = row, Kind = RecipientKind.Cvr, RecipientId = "12345674", MessageUuid = BatchIds.Letter(batch, row, 0, 0),
            State = LetterState.Queued, BulkSystem = "12345674/erp", PushedAt = DateTimeOffset.UnixEpoch,
        };
        await store.Insert(batch, [Letter(1)]);
        Assert.Single(await store.Deliver([Letter(1).MessageUuid!.Value]));

        // An interrupted dispatch makes letter 1 again, as it was before its receipt.
        await store.Insert(batch, [Letter(1), Letter(2)]);

        var stored = await store.Load(batch);
        Assert.Equal((LetterState.Delivered, LetterState.Queued), (stored[LetterRecord.KeyOf(1, 0)].State, stored[LetterRecord.KeyOf(2, 0)].State));
        Assert.True((await store.Find(Letter(1).MessageUuid!.Value))!.Value.Delivered);
        Assert.False((await store.Find(Letter(2).MessageUuid!.Value))!.Value.Delivered);
    }

    private static string EventId(QueuedEvent e) => JsonDocument.Parse(e.Json).RootElement.GetProperty("eventId").GetString()!;
}
