using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.Tests.Support;
using static DigitalPost.Tests.Support.Batches;

namespace DigitalPost.Tests.Postgres;

/// <summary>The platform on PostgreSQL stopped the hard way in the middle of its flows and started again on the same
/// database: what it had promised to do, it still does, once.</summary>
public sealed class RestartTests(PostgresPlatformFixture platform) : IClassFixture<PostgresPlatformFixture>
{
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    [Fact]
    public async Task A_restart_mid_flow_loses_no_message_receipt_email_or_wake_up()
    {
        // A message on day 1 of its resend flow, its day-2 warning to come after the restart...
        var early = await platform.Organisation(b: ReceiverProfile.Negative);
        var (earlyUuid, earlySince) = await platform.SendFailing(early.Cvr, "cp-b");
        await platform.AdvanceTo(earlySince + Day);
        var late = await platform.Organisation(b: ReceiverProfile.Negative);
        var (lateUuid, lateSince) = await platform.SendFailing(late.Cvr, "cp-b");
        // ...a message delivered with its positive receipt...
        var delivered = await platform.Send(late.Cvr, "cp-a");
        await platform.Settle();
        var deliveredBefore = await platform.Status(delivered);
        Assert.Equal(MessageStatus.Delivered, deliveredBefore.Status);
        // ...and the first message's day-2 warning in the e-mail outbox, refused by the SMTP server.
        var earlyContact = early.TechnicalContact("b");
        var outbox = platform.Client.GetGrain<IEmailOutboxGrain>(0);
        platform.Smtp.Refusing = true;
        await platform.AdvanceTo(DayEnd(earlySince + 2 * Day));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await outbox.GetStatus()).LastError is null && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.NotNull((await outbox.GetStatus()).LastError);
        Assert.Contains(MessageEventKind.FirstWarningSent, (await platform.Status(earlyUuid)).History.Select(e => e.Kind));
        Assert.Empty(platform.Smtp.To(earlyContact));

        await platform.Restart();
        platform.Smtp.Refusing = false;

        // Nobody calls the platform: the schedule comes back by itself and the outbox sends the refused warning. (A
        // whole hour keeps the clock on the hours the flow's wake-ups are due at.)
        platform.Time.Advance(TimeSpan.FromHours(1));
        var warning = Assert.Single(await platform.EmailsTo(earlyContact, 1));
        Assert.Contains("dag 2", warning.Subject);
        Assert.Contains(earlyUuid.ToString(), warning.Body);
        Assert.Equal([earlyContact, early.BusinessContact("b")], warning.Recipients);

        var deliveredAfter = await platform.Status(delivered);
        Assert.Equal(MessageStatus.Delivered, deliveredAfter.Status);
        Assert.Equal(deliveredBefore.History, deliveredAfter.History);
        Assert.Equal(deliveredBefore.Attempts, deliveredAfter.Attempts);
        Assert.Equal(1, (await platform.SystemStatus(late, "a")).PositivesInWindow);

        await platform.AdvanceTo(lateSince + 7 * Day - TimeSpan.FromMinutes(1));
        Assert.True((await platform.SystemStatus(late, "b")).Active);
        Assert.Equal("b", (await platform.Status(lateUuid)).CurrentTarget?.ReceiverSystemId);
        await platform.AdvanceTo(lateSince + 7 * Day);

        // Every wake-up kept its time across the restart: one attempt per retry interval until day 7 forwarded it.
        var forwarded = await platform.Status(lateUuid);
        Assert.Equal(MessageStatus.Delivered, forwarded.Status);
        Assert.Equal("a", forwarded.CurrentTarget?.ReceiverSystemId);
        var atB = forwarded.Attempts.Where(a => a.ReceiverSystemId == "b").Select(a => a.PushedAt).ToList();
        Assert.Equal(lateSince, atB[0]);
        Assert.Equal((int)(7 * Day / PlatformFixture.RetryInterval), atB.Count);
        Assert.All(atB.Zip(atB.Skip(1)), pair => Assert.Equal(PlatformFixture.RetryInterval, pair.Second - pair.First));
        // Its receiver system's failures, stored before the restart, count towards its deactivation on day 7.
        Assert.False((await platform.SystemStatus(late, "b")).Active);

        // Each e-mail of either flow went out exactly once, none lost, none repeated by the restarted silo (day 7's at the
        // end of its day).
        await platform.AdvanceTo(DayEnd(lateSince + 7 * Day));
        Assert.Equal(["dag 2", "dag 5", "dag 7", "deaktiveret"], Notices(await platform.EmailsTo(earlyContact, 4)));
        Assert.Equal(MessageStatus.Delivered, (await platform.Status(earlyUuid)).Status);
        var lateEmails = await platform.EmailsTo(late.TechnicalContact("b"), 4);
        Assert.Equal(["dag 2", "dag 5", "dag 7", "deaktiveret"], Notices(lateEmails));
        Assert.All(lateEmails.Where(e => e.Subject.Contains("dag ")), e => Assert.Contains(lateUuid.ToString(), e.Body));
    }

    [Fact]
    public async Task A_batch_spread_over_partitions_counts_each_letter_once_before_and_after_a_restart_and_completes()
    {
        // 70 rows in chunks of 7: two partitions. The receiver system takes every push and never answers, so every
        // letter waits in the bulk lane when the silo dies.
        var org = await platform.Organisation(a: ReceiverProfile.NoReceipt);
        await platform.LoadCompanies($"{org.Cvr};Tavs;aktiv;;");
        const int rows = 70;
        var upload = await platform.Alpha.SubmitBatch(new BatchOptions("Opkrævning", ChannelChoice.DigitalPost, BatchId: $"restart-{Guid.NewGuid():N}"),
            "cvr;navn;beloeb\n" + string.Join("\n", Enumerable.Range(1, rows).Select(i => $"{org.Cvr};Tavs;{i},00")));
        var batchId = upload.Body!.BatchId;
        var before = await platform.Alpha.WaitFor(batchId, s => CountedOnce(s) && s.Counts.Queued == rows, "every letter pushed");
        // From now on the system answers, but the pushes it had are lost with the silo.
        platform.Receivers.SetProfile(org.Simulated("a"), ReceiverProfile.Healthy);

        await platform.Restart();

        // The partitions come back from their own state and the letter store: no letter counted as a pending row too.
        var after = await platform.Alpha.Batch(batchId);
        Assert.True(CountedOnce(after), $"counted {Sum(after)} letters for {rows} rows");
        Assert.Equal((rows, 0), (after.Counts.Queued + after.Counts.Delivered, after.Counts.Pending));
        Assert.Equal(Enumerable.Range(1, rows), (await platform.Alpha.Letters(batchId)).Select(l => l.Row));

        // The partitions push again what the dead activations had pushed (receivers take a repeat by its id): every
        // letter is delivered, each counted once on the way.
        var done = await platform.Alpha.WaitFor(batchId, s =>
        {
            Assert.True(CountedOnce(s), $"counted {Sum(s)} letters for {rows} rows");
            return s.Phase == BatchPhase.Completed;
        }, "completed");
        Assert.Equal((rows, rows, 1.0), (done.Counts.Accepted, done.Counts.Delivered, done.Progress));
        Assert.Equal(before.Counts.Accepted, done.Counts.Accepted);

        static int Sum(BatchStatusView s) => s.Counts.InStates();
        static bool CountedOnce(BatchStatusView s) => Sum(s) == rows;
    }

    private DateTimeOffset DayEnd(DateTimeOffset at)
    {
        var days = new NoticeDays(platform.Flow.Day);
        return days.EndOf(days.DayOf(at));
    }

    private static List<string> Notices(IEnumerable<ReceivedEmail> emails) =>
        [.. emails.Select(e => new[] { "dag 2", "dag 5", "dag 7", "deaktiveret" }.Single(e.Subject.Contains)).Order(StringComparer.Ordinal)];
}
