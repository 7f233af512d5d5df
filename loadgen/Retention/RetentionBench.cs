using System.Diagnostics;
using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Grains;
using DigitalPost.Infrastructure;
using DigitalPost.Retention;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Spectre.Console;

namespace DigitalPost.LoadGen.Retention;

public sealed record RetentionBenchSettings(string ConnectionString, int Letters, int Batches, int DeleteSlice, int Singles = 0);

public sealed record RetentionBenchReport(string Note, int Letters, int Batches, int Singles, int DeleteSlice, double FillSeconds, double RunSeconds,
    double LettersPerSecond, double SinglesPerSecond, SenderRetention Deleted);

/// <summary><c>loadgen retention</c>: fills a PostgreSQL database with a sender's letters past their retention period
/// (synthetic rows, as a batch's partitions store them: letter rows by COPY, and the same letters in citizens' mailboxes)
/// and, with <c>--singles</c>, messages sent one at a time (their index rows and their message grains' rows in Orleans'
/// storage table, keyed as the ADO.NET provider keys them), then times the retention job deleting them, through the
/// platform's own stores and job, without a silo: no grain is active, so none is told.</summary>
public static class RetentionBench
{
    private const string Sender = "retention-bench";
    private const int FillChunk = 50_000;

    public const string Note = "Letters in the citizens' mailbox lane (a letter row, a citizen_mailbox row and, for one in ten, an archive entry " +
        "and a print job as letters through message grains and print have), their batches described 2 days before the run, the sender's " +
        "period 1 day. The run is the job as the silo runs it: a batch's letters a slice at a time, mailbox rows the same way. Single messages: " +
        "an index row and a 2 KB message grain state row each, accepted 2 days before; their state rows deleted in bulk by grain key.";
    private const string ServiceId = "retention-bench";
    private const int StateBytes = 2_048;

    public static async Task<RetentionBenchReport> Run(RetentionBenchSettings settings, IAnsiConsole console, CancellationToken cancellationToken)
    {
        await new PostgresSchema(settings.ConnectionString).ApplyAsync(cancellationToken);
        await using var db = NpgsqlDataSource.Create(settings.ConnectionString);
        var described = new ShiftedClock(TimeSpan.FromDays(-2));
        var letters = new PostgresLetterStore(db, described);
        var archive = new PostgresArchiveStore(db, described);
        var print = new PostgresPrintStore(db);
        var lanes = new PostgresCitizenLaneStore(db);

        console.MarkupLineInterpolated($"Filling {settings.Letters:N0} letters in {settings.Batches} batches...");
        var fill = Stopwatch.StartNew();
        var perBatch = (settings.Letters + settings.Batches - 1) / settings.Batches;
        var caseKeys = new CaseKeys("retention-bench");
        for (var b = 0; b < settings.Batches; b++)
        {
            var batchId = Guid.NewGuid();
            await letters.Describe(batchId, Sender, "Retention bench");
            for (var first = 0; first < perBatch && b * perBatch + first < settings.Letters; first += FillChunk)
            {
                var count = Math.Min(FillChunk, Math.Min(perBatch - first, settings.Letters - b * perBatch - first));
                var chunk = Enumerable.Range(first + 1, count).Select(row => Letter(row)).ToList();
                await letters.Insert(batchId, chunk, l => caseKeys.Of(Sender, l.Kind, l.RecipientId));
                await lanes.Append(LetterLane.CitizenMailbox, [.. chunk.Where(l => l.Lane == LetterLane.CitizenMailbox).Select(l => new CitizenLetter(l.MessageUuid!.Value, l.RecipientId, Sender, "Brev", described.GetUtcNow()))]);
                var elsewhere = chunk.Where(l => l.Lane != LetterLane.CitizenMailbox).ToList();
                await archive.Append([.. elsewhere.Select(l => new ArchiveEntry(caseKeys.Of(Sender, l.Kind, l.RecipientId), l.Kind,
                    new ArchivedLetter(l.MessageUuid!.Value, batchId, l.Row, 0, "Retention bench", LetterState.Delivered, described.GetUtcNow(), [])))]);
                await print.Enqueue([.. elsewhere.Select(l => new QueuedPrint(new PrintJob(l.MessageUuid!.Value, ["Vej 1", "1000 København K"], 1, new BatchRef(batchId, l.Row, 0), null),
                    MessageStatus.SentToPrint, described.GetUtcNow().AddDays(30)))]);
            }
            console.MarkupLineInterpolated($"  batch {b + 1}/{settings.Batches} stored ({fill.Elapsed.TotalSeconds:0.0} s)");
        }
        var singles = new PostgresSingleMessageStore(db);
        await FillSingles(db, singles, settings.Singles, described.GetUtcNow(), console);
        var fillSeconds = fill.Elapsed.TotalSeconds;

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [$"Senders:{Sender}:RetentionDays"] = "1" }).Build();
        var states = new StoredStates(new PostgresMessageStateRows(db, ServiceId));
        var job = new RetentionJob(letters, lanes, new PostgresWebhookOutbox(db, TimeProvider.System), singles,
            new MessageTraces(archive, print, new PostgresDocumentStore(db), states), states, new RetentionPeriods(configuration),
            Options.Create(new RetentionOptions { DeleteSlice = settings.DeleteSlice }), TimeProvider.System, NullLogger<RetentionJob>.Instance);
        console.MarkupLine("Running the retention job...");
        var clock = Stopwatch.StartNew();
        var run = await job.Run(cancellationToken);
        var seconds = clock.Elapsed.TotalSeconds;
        var deleted = run.Senders.Single(s => s.SenderId == Sender);
        return new RetentionBenchReport(Note, settings.Letters, settings.Batches, settings.Singles, settings.DeleteSlice, Math.Round(fillSeconds, 1),
            Math.Round(seconds, 1), Math.Round(deleted.Letters / seconds), Math.Round(deleted.SingleMessages / seconds), deleted);
    }

    private static async Task FillSingles(NpgsqlDataSource db, PostgresSingleMessageStore singles, int count, DateTimeOffset acceptedAt, IAnsiConsole console)
    {
        var payload = new byte[StateBytes];
        Random.Shared.NextBytes(payload);
        for (var first = 0; first < count; first += FillChunk)
        {
            var uuids = Enumerable.Range(0, Math.Min(FillChunk, count - first)).Select(_ => Guid.NewGuid()).ToArray();
            await Task.WhenAll(uuids.Select((uuid, i) => singles.Record(new SingleMessage(uuid, Sender, $"{(first + i) % 280000 + 10100000:D8}{i % 100:D2}", acceptedAt))));
            var keys = uuids.Select(PostgresMessageStateRows.KeyOf).ToArray();
            await using var command = db.CreateCommand("""
                INSERT INTO orleansstorage (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring, serviceid, payloadbinary, modifiedon, version)
                SELECT k.h, k.n0, k.n1, $4, $5, NULL, $6, $7, now(), 1 FROM unnest($1::integer[], $2::bigint[], $3::bigint[]) AS k (h, n0, n1)
                """);
            command.Parameters.AddWithValue(keys.Select(k => k.Hash).ToArray());
            command.Parameters.AddWithValue(keys.Select(k => k.N0).ToArray());
            command.Parameters.AddWithValue(keys.Select(k => k.N1).ToArray());
            command.Parameters.AddWithValue(PostgresMessageStateRows.TypeHash);
            command.Parameters.AddWithValue(PostgresMessageStateRows.StateName);
            command.Parameters.AddWithValue(ServiceId);
            command.Parameters.AddWithValue(payload);
            await command.ExecuteNonQueryAsync();
            console.MarkupLineInterpolated($"  {first + uuids.Length:N0}/{count:N0} single messages stored");
        }
    }

    /// <summary>The job's grain states without a silo: message grains' rows deleted in bulk as on a silo, with no
    /// activation to tell; the bench's batches were never grains, so they have no state to forget.</summary>
    private sealed class StoredStates(PostgresMessageStateRows rows) : IGrainStates
    {
        public Task<long> ClearMessages(IReadOnlyList<Guid> messageUuids) => rows.Delete(messageUuids);
        public Task ForgetBatches(IReadOnlyList<Guid> batchIds) => Task.CompletedTask;
    }

    /// <summary>A letter in a citizen's mailbox; every tenth went through its message grain or to print instead.</summary>
    private static LetterRecord Letter(int row) => new()
    {
        Row = row,
        MessageUuid = Guid.NewGuid(),
        State = LetterState.Delivered,
        Channel = DeliveryChannel.DigitalPost,
        Kind = RecipientKind.Cpr,
        RecipientId = $"{row % 280000 + 10100000:D8}{row % 100:D2}",
        DeliveredAt = DateTimeOffset.UtcNow,
        Lane = row % 10 == 0 ? LetterLane.MessageGrain : LetterLane.CitizenMailbox,
    };

    private sealed class ShiftedClock(TimeSpan by) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + by;
    }
}
