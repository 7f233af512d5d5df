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

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task The_webhook_outbox_gives_runs_of_events_in_order_from_the_readers_place_and_drops_exactly_the_range_pushed(string kind)
    {
        await using var db = await Database();
        IWebhookOutbox outbox = kind == "memory" ? new MemoryWebhookOutbox(TimeProvider.System) : new PostgresWebhookOutbox(db, TimeProvider.System);
        var batch = Guid.NewGuid();
        WebhookEvent Event(int row) => new($"e{row}", batch, "b1", row, 0, Guid.NewGuid(), LetterState.Delivered, DateTimeOffset.UnixEpoch.AddDays(row), null, null);
        await outbox.Append("s1", [Event(1), Event(2), Event(3)], perRun: 2);
        await outbox.Append("s2", [Event(9)], perRun: 2);
        await outbox.Append("s1", [Event(4), Event(5)], perRun: 2);
        Assert.Equal(5, await outbox.Count("s1"));

        // A run is never split: the first is given even when it alone is more than asked for.
        Assert.Equal(["e1", "e2"], EventIds(await outbox.Next("s1", 0, 1)));
        var first = await outbox.Next("s1", 0, 2);
        Assert.Equal(["e1", "e2"], EventIds(first));
        await outbox.Remove("s1", first[0].Sequence, first[^1].Sequence);
        var rest = await outbox.Next("s1", first[^1].Sequence, 10);

        Assert.Equal(["e3", "e4", "e5"], EventIds(rest));
        Assert.Equal(3, await outbox.Count("s1"));
        Assert.Equal(1, await outbox.Count("s2"));
        Assert.Equal(["e3"], EventIds(await outbox.Next("s1", first[^1].Sequence, 2)));
        await outbox.Remove("s1", rest[0].Sequence, rest[0].Sequence);
        Assert.Equal(2, await outbox.Count("s1"));
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
        await store.Insert(batch, [Letter(1)], _ => "case-1");
        Assert.Single(await store.Deliver([Letter(1).MessageUuid!.Value]));

        // An interrupted dispatch makes letter 1 again, as it was before its receipt.
        await store.Insert(batch, [Letter(1), Letter(2)], _ => "case-1");

        var stored = await store.Load(batch);
        Assert.Equal((LetterState.Delivered, LetterState.Queued), (stored[LetterRecord.KeyOf(1, 0)].State, stored[LetterRecord.KeyOf(2, 0)].State));
        Assert.True((await store.Find(Letter(1).MessageUuid!.Value))!.Value.Delivered);
        Assert.False((await store.Find(Letter(2).MessageUuid!.Value))!.Value.Delivered);
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task A_letter_delivered_in_the_bulk_lane_is_in_its_recipients_case_by_its_own_row_with_its_label_and_receipt(string kind)
    {
        await using var db = await Database();
        ILetterStore store = kind == "memory" ? new MemoryLetterStore(TimeProvider.System) : new PostgresLetterStore(db, TimeProvider.System);
        var batch = Guid.NewGuid();
        var pushedAt = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
        LetterRecord Letter(int row, int copy = 0) => new()
        {
            Row = row, Copy = copy, Kind = RecipientKind.Cvr, RecipientId = "12345674", MessageUuid = BatchIds.Letter(batch, row, copy, 0),
            State = LetterState.Queued, BulkSystem = "12345674/erp", Lane = LetterLane.ReceiverSystem, PushedAt = pushedAt,
        };
        await store.Describe(batch, "alfa-kommune", "Årsopgørelse");
        await store.Insert(batch, [Letter(1), Letter(1, copy: 1), Letter(2)], l => l.Row == 1 ? "case-1" : "case-2");
        // Pushed, and no receipt yet: not in the case.
        Assert.Empty(await store.DeliveredInBulk("case-1"));

        await store.Deliver([Letter(1).MessageUuid!.Value, Letter(1, copy: 1).MessageUuid!.Value]);

        var found = (await store.DeliveredInBulk("case-1")).OrderBy(f => f.Letter.Copy).ToList();
        Assert.Equal([(0, "Årsopgørelse"), (1, "Kopi: Årsopgørelse")], found.Select(f => (f.Letter.Copy, f.Letter.Label)));
        Assert.All(found, f => Assert.Equal((RecipientKind.Cvr, LetterState.Delivered), (f.Kind, f.Letter.State)));
        var receipt = Assert.Single(found[0].Letter.Receipts);
        Assert.Equal(("erp", AttemptOutcome.Positive, pushedAt), (receipt.ReceiverSystemId, receipt.Outcome, receipt.PushedAt));
        Assert.Equal(found[0].Letter.ArchivedAt, receipt.CompletedAt);
        Assert.Empty(await store.DeliveredInBulk("case-2"));
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task A_receipt_and_a_hand_over_racing_for_a_bulk_letter_have_one_winner_and_no_later_save_or_repeat_moves_it_back(string kind)
    {
        await using var db = await Database();
        ILetterStore store = kind == "memory" ? new MemoryLetterStore(TimeProvider.System) : new PostgresLetterStore(db, TimeProvider.System);
        var batch = Guid.NewGuid();
        LetterRecord Letter(int row, int generation = 0) => new()
        {
            Row = row, Generation = generation, Kind = RecipientKind.Cvr, RecipientId = "12345674", MessageUuid = BatchIds.Letter(batch, row, 0, generation),
            State = LetterState.Queued, BulkSystem = "12345674/erp", Lane = LetterLane.ReceiverSystem, PushedAt = DateTimeOffset.UnixEpoch,
        };
        var rows = Enumerable.Range(1, 40).ToList();
        await store.Insert(batch, [.. rows.Select(r => Letter(r))], _ => "case");

        // Each letter's positive receipt and its hand-over (a negative receipt of a repeated push, or an overdue one) at once.
        var raced = await Task.WhenAll(rows.Select(async r =>
        {
            var uuid = Letter(r).MessageUuid!.Value;
            var (delivered, taken) = (store.Deliver([uuid]), store.HandOver([uuid]));
            return (Row: r, Delivered: (await delivered).Count, Taken: (await taken).Count);
        }));
        Assert.All(raced, r => Assert.Equal(1, r.Delivered + r.Taken));
        var handedOver = raced.Where(r => r.Taken == 1).Select(r => r.Row).ToHashSet();

        // Repeats change nothing, whichever way they come; nor does the bulk lane's view of the same generation, stored
        // late by an activation that had not heard of the hand-over.
        var uuids = rows.Select(r => Letter(r).MessageUuid!.Value).ToList();
        Assert.Empty(await store.Deliver(uuids));
        Assert.Empty(await store.HandOver(uuids));
        await store.Save(batch, [.. rows.Select(r => Letter(r))], _ => "case");

        var stored = await store.Load(batch);
        Assert.All(rows, r => Assert.Equal(handedOver.Contains(r) ? (LetterLane.MessageGrain, LetterState.Queued, (string?)null)
            : (LetterLane.ReceiverSystem, LetterState.Delivered, "12345674/erp"),
            (stored[LetterRecord.KeyOf(r, 0)].Lane, stored[LetterRecord.KeyOf(r, 0)].State, stored[LetterRecord.KeyOf(r, 0)].BulkSystem)));
        var found = await store.FindAll(uuids);
        Assert.Equal(handedOver.Order(), found.Where(f => f.ReceiverSystemKey is null).Select(f => f.Row).Order());

        // That activation then hears the message grains deliver them: their state is stored, in the grains' lane.
        await store.Save(batch, [.. handedOver.Select(r => Letter(r)).Select(l => { l.State = LetterState.Delivered; return l; })], _ => "case");
        var finished = await store.Load(batch);
        Assert.All(handedOver, r => Assert.Equal((LetterLane.MessageGrain, LetterState.Delivered, (string?)null),
            (finished[LetterRecord.KeyOf(r, 0)].Lane, finished[LetterRecord.KeyOf(r, 0)].State, finished[LetterRecord.KeyOf(r, 0)].BulkSystem)));

        // A retry's next generation is a new letter: the bulk lane may take it.
        await store.Save(batch, [.. handedOver.Select(r => Letter(r, generation: 1))], _ => "case");
        var retried = await store.Load(batch);
        Assert.All(handedOver, r => Assert.Equal((LetterLane.ReceiverSystem, 1), (retried[LetterRecord.KeyOf(r, 0)].Lane, retried[LetterRecord.KeyOf(r, 0)].Generation)));
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task A_citizens_lane_keeps_each_letter_once_by_its_message_id_and_lists_a_citizens_letters_oldest_first(string kind)
    {
        await using var db = await Database();
        ICitizenLaneStore lanes = kind == "memory" ? new MemoryCitizenLaneStore() : new PostgresCitizenLaneStore(db);
        var at = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
        CitizenLetter Letter(string cpr, int minutes) => new(Guid.NewGuid(), cpr, "alfa", $"Brev {minutes}", at.AddMinutes(minutes));
        var (first, second, other) = (Letter("0101701234", 5), Letter("0101701234", 1), Letter("0202702345", 0));

        await lanes.Append(LetterLane.CitizenMailbox, [first, other]);
        // A batch resuming after a crash appends what it had appended, with letters that are new.
        await lanes.Append(LetterLane.CitizenMailbox, [first with { Title = "changed" }, second]);
        await lanes.Append(LetterLane.NemSms, [Letter("0101701234", 9)]);

        Assert.Equal([second, first], await lanes.Of(LetterLane.CitizenMailbox, "0101701234"));
        Assert.Equal([other], await lanes.Of(LetterLane.CitizenMailbox, "0202702345"));
        Assert.Equal("Brev 9", Assert.Single(await lanes.Of(LetterLane.NemSms, "0101701234")).Title);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => lanes.Append(LetterLane.ReceiverSystem, [other]));
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task A_letter_a_citizens_lane_delivered_is_in_its_recipients_case_by_its_own_row_and_a_message_grains_letter_is_not(string kind)
    {
        await using var db = await Database();
        ILetterStore store = kind == "memory" ? new MemoryLetterStore(TimeProvider.System) : new PostgresLetterStore(db, TimeProvider.System);
        var batch = Guid.NewGuid();
        var at = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
        LetterRecord Letter(int row, LetterLane lane, LetterState state) => new()
        {
            Row = row, Kind = RecipientKind.Cpr, RecipientId = "0101701234", MessageUuid = BatchIds.Letter(batch, row, 0, 0),
            State = state, Lane = lane, Channel = DeliveryChannel.DigitalPost, PushedAt = at, DeliveredAt = at,
        };
        await store.Describe(batch, "alfa-kommune", "Brev");
        await store.Insert(batch, [Letter(1, LetterLane.CitizenMailbox, LetterState.Delivered), Letter(2, LetterLane.NemSms, LetterState.SentAsNemSms),
            Letter(3, LetterLane.MessageGrain, LetterState.Delivered)], _ => "case");

        var found = (await store.DeliveredInBulk("case")).OrderBy(f => f.Letter.Row).ToList();
        Assert.Equal([(1, LetterState.Delivered), (2, LetterState.SentAsNemSms)], found.Select(f => (f.Letter.Row, f.Letter.State)));
        Assert.All(found, f => Assert.Empty(f.Letter.Receipts));
        Assert.Equal(LetterLane.CitizenMailbox, (await store.Find(Letter(1, default, default).MessageUuid!.Value))!.Value.Lane);
        Assert.Equal(LetterLane.CitizenMailbox, (await store.Load(batch))[LetterRecord.KeyOf(1, 0)].Lane);
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task The_print_queue_keeps_a_job_once_gives_the_due_ones_oldest_first_and_moves_each_step_once(string kind)
    {
        await using var db = await Database();
        IPrintStore print = kind == "memory" ? new MemoryPrintStore() : new PostgresPrintStore(db);
        var at = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
        QueuedPrint Job(int minutes, BatchRef? letter = null) =>
            new(new PrintJob(Guid.NewGuid(), ["Strandvejen 1", "2900 Hellerup"], 2, letter), MessageStatus.SentToPrint, at.AddMinutes(minutes));
        var (late, early, notYet) = (Job(5, new BatchRef(Guid.NewGuid(), 7, 1)), Job(1), Job(60));

        await print.Enqueue([late, early, notYet]);
        await print.Enqueue([early with { NextAt = at.AddDays(9) }]);

        var due = await print.Due(at.AddMinutes(10), 10);
        Assert.Equal([early.Job.MessageUuid, late.Job.MessageUuid], due.Select(j => j.Job.MessageUuid));
        Assert.Equal(late.Job.Letter, due[1].Job.Letter);
        Assert.Equal(["Strandvejen 1", "2900 Hellerup"], due[1].Job.Address);
        await print.Advance([early.Job.MessageUuid, late.Job.MessageUuid], at.AddHours(6), []);
        // A repeated step moves nothing again: the job waits for the postal service from the first one.
        await print.Advance([early.Job.MessageUuid], at.AddHours(9), []);
        Assert.Equal((1, 2, at.AddMinutes(60)), await print.Counts());
        Assert.All(await print.Due(at.AddHours(7), 10), j => Assert.True(j.Status == MessageStatus.Printed || j.Job.MessageUuid == notYet.Job.MessageUuid));

        await print.Advance([], at.AddHours(12), [early.Job.MessageUuid, late.Job.MessageUuid]);
        Assert.Equal((1, 0, at.AddMinutes(60)), await print.Counts());
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task A_document_is_put_once_read_back_as_it_was_put_and_deleted_with_its_message(string kind)
    {
        await using var db = await Database();
        IDocumentStore store = kind == "memory" ? new MemoryDocumentStore() : new PostgresDocumentStore(db);
        var (message, other) = (Guid.NewGuid(), Guid.NewGuid());
        // Over two pieces and not a whole number of them; the empty document is a document all the same.
        var letter = TestBytes.Random(2 * DocumentStreams.ChunkBytes + 12_345, seed: 1);
        var attachment = TestBytes.Random(10, seed: 2);
        var key = new DocumentKey(message, 0, 0);

        var put = await store.Put(key, new MemoryStream(letter));
        Assert.Equal(new DocumentPut(letter.Length, TestBytes.Sha256(letter), DocumentPutOutcome.Stored), put);
        Assert.Equal(DocumentPutOutcome.Stored, (await store.Put(new DocumentKey(message, 1, 0), new MemoryStream(attachment))).Outcome);
        Assert.Equal(DocumentPutOutcome.Stored, (await store.Put(new DocumentKey(message, 1, 1), Stream.Null)).Outcome);
        Assert.Equal(DocumentPutOutcome.Stored, (await store.Put(new DocumentKey(other, 0, 0), new MemoryStream(attachment))).Outcome);

        Assert.Equal(new StoredDocument(letter.Length, TestBytes.Sha256(letter)), await store.Find(key));
        Assert.Equal(letter, await Read(store, key));
        Assert.Equal(attachment, await Read(store, new DocumentKey(message, 1, 0)));
        Assert.Equal(new StoredDocument(0, TestBytes.Sha256([])), await store.Find(new DocumentKey(message, 1, 1)));
        Assert.Empty(await Read(store, new DocumentKey(message, 1, 1)));
        Assert.Null(await store.Find(new DocumentKey(message, 2, 0)));
        Assert.Null(await store.Open(new DocumentKey(message, 2, 0)));

        // A repeat changes nothing; other bytes under the same key are read, hashed and not stored.
        Assert.Equal(put with { Outcome = DocumentPutOutcome.AlreadyStored }, await store.Put(key, new MemoryStream(letter)));
        Assert.Equal(new DocumentPut(attachment.Length, TestBytes.Sha256(attachment), DocumentPutOutcome.OtherBytesStored), await store.Put(key, new MemoryStream(attachment)));
        Assert.Equal(letter, await Read(store, key));

        await store.Delete(message);
        Assert.Null(await store.Find(key));
        Assert.Null(await store.Open(new DocumentKey(message, 1, 0)));
        Assert.Equal(attachment, await Read(store, new DocumentKey(other, 0, 0)));
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task A_print_lane_letter_moves_only_forward_and_a_letter_its_batch_has_not_stored_is_not_moved(string kind)
    {
        await using var db = await Database();
        ILetterStore store = kind == "memory" ? new MemoryLetterStore(TimeProvider.System) : new PostgresLetterStore(db, TimeProvider.System);
        var batch = Guid.NewGuid();
        var at = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
        LetterRecord Letter(int row) => new()
        {
            Row = row, Kind = RecipientKind.Cpr, RecipientId = "0101701234", MessageUuid = BatchIds.Letter(batch, row, 0, 0),
            State = LetterState.SentToPrint, Lane = LetterLane.Print, Channel = DeliveryChannel.PhysicalPost, PushedAt = at,
        };
        await store.Insert(batch, [Letter(1), Letter(2)], _ => "case");
        var (one, two, unstored) = (Letter(1).MessageUuid!.Value, Letter(2).MessageUuid!.Value, Letter(3).MessageUuid!.Value);

        Assert.Equal(new[] { one, two }.Order(), (await store.Progress([one, two, unstored], LetterState.Printed, at.AddHours(2))).Order());
        // The batch stores its older view of a letter the print provider moved meanwhile: the row stays printed.
        await store.Save(batch, [Letter(1)], _ => "case");
        Assert.Equal([one], await store.Progress([one], LetterState.HandedToPostalService, at.AddHours(6)));
        // Late and repeated steps change nothing, yet the letter is reported as there.
        Assert.Equal([one], await store.Progress([one], LetterState.Printed, at.AddHours(9)));

        var rows = await store.Load(batch);
        Assert.Equal((LetterState.HandedToPostalService, at.AddHours(6)), (rows[LetterRecord.KeyOf(1, 0)].State, rows[LetterRecord.KeyOf(1, 0)].DeliveredAt));
        Assert.Equal(LetterState.Printed, rows[LetterRecord.KeyOf(2, 0)].State);
        Assert.Equal([LetterState.HandedToPostalService], (await store.DeliveredInBulk("case")).Select(f => f.Letter.State));
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task Puts_of_one_key_at_once_store_it_once(string kind)
    {
        await using var db = await Database();
        IDocumentStore store = kind == "memory" ? new MemoryDocumentStore() : new PostgresDocumentStore(db);
        var key = new DocumentKey(Guid.NewGuid(), 0, 0);
        var letter = TestBytes.Random(DocumentStreams.ChunkBytes + 1, seed: 3);

        var puts = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => store.Put(key, new MemoryStream(letter)))));

        Assert.Single(puts, p => p.Outcome == DocumentPutOutcome.Stored);
        Assert.All(puts, p => Assert.Equal((letter.Length, TestBytes.Sha256(letter)), (p.Length, p.Sha256)));
        Assert.Equal(letter, await Read(store, key));
    }

    private static async Task<byte[]> Read(IDocumentStore store, DocumentKey key)
    {
        await using var stream = (await store.Open(key))!;
        using var copy = new MemoryStream();
        // Small reads, so that one piece is read in many and the pieces' ends fall inside reads.
        var buffer = new byte[100_003];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0) copy.Write(buffer, 0, read);
        return copy.ToArray();
    }

    /// <summary>The events as the webhook receives them: the push body made of the runs' stored JSON.</summary>
    private static List<string> EventIds(IReadOnlyList<QueuedRun> runs) =>
        [.. JsonDocument.Parse(WebhookJson.Body(runs)).RootElement.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("eventId").GetString()!)];

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task A_batchs_letters_are_paged_in_row_order_from_the_store_and_a_partition_loads_only_its_rows(string kind)
    {
        await using var db = await Database();
        ILetterStore store = kind == "memory" ? new MemoryLetterStore(TimeProvider.System) : new PostgresLetterStore(db, TimeProvider.System);
        var (batch, other) = (Guid.NewGuid(), Guid.NewGuid());
        LetterRecord Letter(int row, int copy, LetterState state) => new()
        {
            Row = row, Copy = copy, Kind = RecipientKind.Cpr, RecipientId = "0101801234", MessageUuid = BatchIds.Letter(batch, row, copy, 0),
            State = state, ErrorCode = state == LetterState.Returned ? "NOT_REGISTERED" : null, Partition = row <= 5 ? 0 : 1,
        };
        // Stored out of order, by two partitions, beside another batch's letter.
        await store.Insert(batch, [Letter(7, 0, LetterState.Failing), Letter(2, 1, LetterState.Returned), Letter(9, 0, LetterState.Delivered)], _ => "case");
        await store.Insert(batch, [Letter(2, 0, LetterState.Delivered), Letter(1, 0, LetterState.Queued), Letter(4, 0, LetterState.Failed)], _ => "case");
        await store.Insert(other, [Letter(3, 0, LetterState.Failed)], _ => "case");

        var all = await store.Page(batch, errorsOnly: false, 0, 100);
        Assert.Equal([(1, 0), (2, 0), (2, 1), (4, 0), (7, 0), (9, 0)], all.Select(l => (l.Row, l.Copy)));
        Assert.Equal([(2, 1), (4, 0)], (await store.Page(batch, errorsOnly: false, 2, 2)).Select(l => (l.Row, l.Copy)));
        var errors = await store.Page(batch, errorsOnly: true, 0, 100);
        Assert.Equal([(2, 1, LetterState.Returned), (4, 0, LetterState.Failed), (7, 0, LetterState.Failing)], errors.Select(l => (l.Row, l.Copy, l.State)));
        Assert.Equal("NOT_REGISTERED", errors[0].ErrorCode);
        Assert.Equal([(7, 0)], (await store.Page(batch, errorsOnly: true, 2, 5)).Select(l => (l.Row, l.Copy)));

        // A partition owning rows 1-2 and 7-8 loads those and nothing else; the owner stored with a letter comes back with it.
        var mine = await store.Load(batch, [(1, 2), (7, 8)]);
        Assert.Equal([LetterRecord.KeyOf(1, 0), LetterRecord.KeyOf(2, 0), LetterRecord.KeyOf(2, 1), LetterRecord.KeyOf(7, 0)], mine.Keys.Order());
        Assert.Equal(1, mine[LetterRecord.KeyOf(7, 0)].Partition);
        Assert.Equal(1, (await store.Find(Letter(9, 0, LetterState.Delivered).MessageUuid!.Value))!.Value.Partition);
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task Two_moves_out_of_a_Virk_mailbox_at_once_take_each_letter_exactly_once_and_a_repeated_move_takes_nothing(string kind)
    {
        await using var db = await Database();
        IVirkMailboxStore mailboxes = kind == "memory" ? new MemoryVirkMailboxStore() : new PostgresVirkMailboxStore(db);
        var letters = Enumerable.Range(0, 2_000).Select(i => new VirkMailItem(Guid.NewGuid(), DateTimeOffset.UnixEpoch.AddMinutes(i), i % 2 == 0 ? "cp-b" : null, "no receiver system")).ToList();
        foreach (var letter in letters) await mailboxes.Add("29189846", letter);
        await mailboxes.Add("29189846", letters[0]);
        await mailboxes.Add("12345674", letters[1] with { MessageUuid = Guid.NewGuid() });
        var all = new VirkMoveRequest(null, true, VirkMailboxFilter.None, new VirkMoveTarget(null, true));
        VirkMove NewMove() => new(Guid.NewGuid(), "29189846", DateTimeOffset.UnixEpoch, "admin", all.Target, 0, 0);

        var (one, two) = (NewMove(), NewMove());
        var made = await Task.WhenAll(mailboxes.Move(one, all), mailboxes.Move(two, all));
        var repeated = await mailboxes.Move(one, all);

        Assert.Equal(2_000, made.Sum(m => m.Moved));
        Assert.Equal(made[0].Moved, repeated.Moved);
        var moved = (await mailboxes.MovedLetters(one.MoveId, 0, 5_000)).Concat(await mailboxes.MovedLetters(two.MoveId, 0, 5_000)).ToList();
        Assert.Equal(letters.Select(l => l.MessageUuid).Order(), moved.Select(l => l.MessageUuid).Order());
        Assert.All(moved, l => Assert.Equal(letters.Single(i => i.MessageUuid == l.MessageUuid).OriginalContactPointId, l.ContactPointId));
        Assert.Equal(0, await mailboxes.Count("29189846"));
        Assert.Equal(1, await mailboxes.Count("12345674"));
        Assert.Equal(2, (await mailboxes.Moves("29189846", 0, 10)).Count);
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task A_Virk_mailbox_lists_and_moves_what_its_filter_takes_in_order_of_arrival(string kind)
    {
        await using var db = await Database();
        IVirkMailboxStore mailboxes = kind == "memory" ? new MemoryVirkMailboxStore() : new PostgresVirkMailboxStore(db);
        var day = DateTimeOffset.UnixEpoch.AddYears(56);
        var letters = Enumerable.Range(0, 10).Select(i => new VirkMailItem(Guid.NewGuid(), day.AddHours(i), i < 5 ? "cp-a" : "cp-b",
            i % 2 == 0 ? "the primary receiver system a is deactivated" : "forwarded from the failing receiver system b")).ToList();
        foreach (var letter in letters.AsEnumerable().Reverse()) await mailboxes.Add("29189846", letter);

        var page = await mailboxes.List("29189846", new VirkMailboxFilter(From: day.AddHours(2), To: day.AddHours(8), ReasonContains: "DEACTIVATED"), 1, 2);
        Assert.Equal(3, page.Total);
        Assert.Equal([letters[4].MessageUuid, letters[6].MessageUuid], page.Items.Select(i => i.MessageUuid));
        Assert.Equal(3, (await mailboxes.List("29189846", new VirkMailboxFilter(From: day.AddHours(2), To: day.AddHours(8), ReasonContains: "deactivated"), 5, 2)).Total);

        var cpB = new VirkMoveRequest(null, true, new VirkMailboxFilter(OriginalContactPointId: "cp-b"), new VirkMoveTarget("cp-a", false));
        var move = await mailboxes.Move(new VirkMove(Guid.NewGuid(), "29189846", day, "admin", cpB.Target, 0, 0), cpB);
        Assert.Equal(5, move.Moved);
        Assert.Equal(letters.Skip(5).Select(l => l.MessageUuid), (await mailboxes.MovedLetters(move.MoveId, 0, 10)).Select(l => l.MessageUuid));
        Assert.Equal(letters.Skip(7).Select(l => l.MessageUuid), (await mailboxes.MovedLetters(move.MoveId, 2, 10)).Select(l => l.MessageUuid));
        Assert.All(await mailboxes.MovedLetters(move.MoveId, 0, 10), l => Assert.Equal("cp-a", l.ContactPointId));
        await mailboxes.Redelivered(move.MoveId, 3);
        await mailboxes.Redelivered(move.MoveId, 2);
        Assert.Equal(3, (await mailboxes.FindMove(move.MoveId))!.Redelivered);
        Assert.Equal(letters.Take(5).Select(l => l.MessageUuid), (await mailboxes.List("29189846", VirkMailboxFilter.None, 0, 100)).Items.Select(i => i.MessageUuid));
    }

    [Theory]
    [InlineData("PostgreSQL")]
    [InlineData("memory")]
    public async Task Cancelling_changes_only_a_partitions_unsent_letters_and_no_later_save_undoes_it(string kind)
    {
        await using var db = await Database();
        ILetterStore store = kind == "memory" ? new MemoryLetterStore(TimeProvider.System) : new PostgresLetterStore(db, TimeProvider.System);
        var batch = Guid.NewGuid();
        LetterRecord Letter(int row, LetterState state, bool sent) => new()
        {
            Row = row, Kind = RecipientKind.Cpr, RecipientId = "0101801234", State = state,
            MessageUuid = sent ? BatchIds.Letter(batch, row, 0, 0) : null,
        };
        // Rows 1-3 unsent, row 4 pending with its message id (being handed to its lane), 5 in a lane, 6 delivered;
        // row 9 unsent but another partition's.
        await store.Insert(batch, [Letter(1, LetterState.Pending, false), Letter(2, LetterState.Pending, false), Letter(3, LetterState.Pending, false),
            Letter(4, LetterState.Pending, true), Letter(5, LetterState.Queued, true), Letter(6, LetterState.Delivered, true), Letter(9, LetterState.Pending, false)], _ => "case");

        Assert.Equal(3, await store.Cancel(batch, [(1, 6)]));
        Assert.Equal(0, await store.Cancel(batch, [(1, 6)]));
        // A send step that comes after the cancel: its save, even of a final state, changes nothing.
        await store.Save(batch, [Letter(1, LetterState.Delivered, true), Letter(2, LetterState.Queued, true)], _ => "case");

        var states = (await store.Load(batch)).Values.OrderBy(l => l.Row).Select(l => (l.Row, l.State)).ToList();
        Assert.Equal([(1, LetterState.Cancelled), (2, LetterState.Cancelled), (3, LetterState.Cancelled), (4, LetterState.Pending),
            (5, LetterState.Queued), (6, LetterState.Delivered), (9, LetterState.Pending)], states);
        Assert.Null((await store.Load(batch))[LetterRecord.KeyOf(1, 0)].MessageUuid);
        Assert.Equal("CANCELLED", (await store.Page(batch, errorsOnly: false, 0, 1))[0].ErrorCode);
    }
}
