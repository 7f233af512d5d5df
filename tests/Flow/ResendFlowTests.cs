using System.Net.Http.Json;
using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.Tests.Support;

namespace DigitalPost.Tests.Flow;

/// <summary>The resend flow of release 49.0 (SPEC section 3), played on a fake clock against receiver systems on
/// loopback and an SMTP server on loopback.</summary>
public abstract class ResendFlowTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : ResendFlowTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : ResendFlowTests(platform);

    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    /// <summary>When the platform day of <paramref name="at"/> ends: the warning e-mails of that day go out then.</summary>
    private DateTimeOffset DayEnd(DateTimeOffset at)
    {
        var days = new NoticeDays(platform.Flow.Day);
        return days.EndOf(days.DayOf(at));
    }

    [Fact]
    public async Task A_failing_message_retries_warns_on_day_2_and_day_5_and_is_forwarded_to_the_primary_on_day_7()
    {
        var org = await platform.Organisation(b: ReceiverProfile.Negative);
        var (uuid, firstFailed) = await platform.SendFailing(org.Cvr, "cp-b");
        var technical = org.TechnicalContact("b");
        var business = org.BusinessContact("b");

        await platform.AdvanceTo(firstFailed + 2 * Day - TimeSpan.FromMinutes(1));
        var dayTwoEve = await platform.Status(uuid);
        Assert.Equal(MessageStatus.Failing, dayTwoEve.Status);
        Assert.Equal(1 + (int)((2 * Day - TimeSpan.FromMinutes(1)) / PlatformFixture.RetryInterval), dayTwoEve.Attempts.Count);
        Assert.All(dayTwoEve.Attempts, a => Assert.Equal("b", a.ReceiverSystemId));
        Assert.Empty(platform.Smtp.To(technical));

        // Day 2 is reached; its e-mail lists the day's messages once the day is over.
        await platform.AdvanceTo(firstFailed + 2 * Day);
        Assert.Contains(MessageEventKind.FirstWarningSent, (await platform.Status(uuid)).History.Select(e => e.Kind));
        Assert.Empty(platform.Smtp.To(technical));
        await platform.AdvanceTo(DayEnd(firstFailed + 2 * Day));
        var dayTwo = Assert.Single(await platform.EmailsTo(technical, 1));
        Assert.Contains("dag 2", dayTwo.Subject);
        Assert.Contains(uuid.ToString(), dayTwo.Body);
        Assert.Equal([technical, business], dayTwo.Recipients);

        await platform.AdvanceTo(firstFailed + 5 * Day - TimeSpan.FromMinutes(1));
        Assert.Single(platform.Smtp.To(technical));
        await platform.AdvanceTo(DayEnd(firstFailed + 5 * Day));
        var emails = await platform.EmailsTo(technical, 2);
        Assert.Contains("dag 5", emails[1].Subject);

        await platform.AdvanceTo(firstFailed + 7 * Day - TimeSpan.FromMinutes(1));
        Assert.Equal("b", (await platform.Status(uuid)).CurrentTarget?.ReceiverSystemId);
        await platform.AdvanceTo(firstFailed + 7 * Day);

        var forwarded = await platform.Status(uuid);
        Assert.Equal(MessageStatus.Delivered, forwarded.Status);
        Assert.Equal("a", forwarded.CurrentTarget?.ReceiverSystemId);
        Assert.Equal(AttemptOutcome.Positive, forwarded.Attempts[^1].Outcome);
        Assert.Contains(forwarded.History, e => e.Kind == MessageEventKind.Forwarded && e.ReceiverSystemId == "b");
        Assert.Contains(platform.Receivers.Pushes, p => p.MessageUuid == uuid && p.System == org.Simulated("a"));
        await platform.AdvanceTo(DayEnd(firstFailed + 7 * Day));
        await platform.EmailTo(technical, e => e.Subject.Contains("dag 7") && e.Body.Contains(uuid.ToString()));
        await platform.EmailTo(business, e => e.Subject.Contains("dag 7"));
    }

    [Fact]
    public async Task A_message_forwarded_to_a_primary_that_fails_too_goes_on_to_the_Virk_mailbox_without_a_second_week()
    {
        var org = await platform.Organisation(b: ReceiverProfile.Negative, a: ReceiverProfile.Negative);
        var (uuid, firstFailed) = await platform.SendFailing(org.Cvr, "cp-b");

        await platform.AdvanceTo(firstFailed + 7 * Day);
        // Day 7 forwards it to the primary, whose negative receipt sends it on within the receipt's round trip.
        await platform.AdvanceBy(PlatformFixture.ReceiptTimeout);

        var status = await platform.Status(uuid);
        Assert.Equal(MessageStatus.DeliveredToVirk, status.Status);
        Assert.Equal(["a"], status.Attempts.Where(a => a.ReceiverSystemId == "a").Select(a => a.ReceiverSystemId));
        Assert.True(status.History[^1].At <= firstFailed + 7 * Day + PlatformFixture.ReceiptTimeout);
        var virk = (await platform.Client.GetGrain<IOrganisationGrain>(org.Cvr).ListVirkMailbox(VirkMailboxFilter.None, 0, 100)).Items;
        Assert.Equal(uuid, Assert.Single(virk).MessageUuid);
        await platform.AdvanceTo(DayEnd(status.History[^1].At));
        // No second flow at the primary: its contacts hear of the forwarding, never a day-2 warning.
        await platform.EmailTo(org.TechnicalContact("a"), e => e.Subject.Contains("dag 7") && e.Body.Contains("Virk"));
        Assert.DoesNotContain(platform.Smtp.To(org.TechnicalContact("a")), e => e.Subject.Contains("dag 2"));
    }

    [Fact]
    public async Task A_message_failing_at_the_primary_is_forwarded_to_the_Virk_mailbox_on_day_7()
    {
        var org = await platform.Organisation(a: ReceiverProfile.Negative);
        var (uuid, firstFailed) = await platform.SendFailing(org.Cvr, contactPointId: null);

        await platform.AdvanceTo(firstFailed + 7 * Day);

        var status = await platform.Status(uuid);
        Assert.Equal(MessageStatus.DeliveredToVirk, status.Status);
        Assert.Equal(DeliveryTargetKind.VirkMailbox, status.CurrentTarget?.Kind);
        var virk = (await platform.Client.GetGrain<IOrganisationGrain>(org.Cvr).ListVirkMailbox(VirkMailboxFilter.None, 0, 100)).Items;
        Assert.Equal(uuid, Assert.Single(virk).MessageUuid);
        await platform.AdvanceTo(DayEnd(firstFailed + 7 * Day));
        await platform.EmailTo(org.TechnicalContact("a"), e => e.Subject.Contains("dag 7") && e.Body.Contains("Virk"));
    }

    [Fact]
    public async Task Forty_eight_messages_failing_at_a_dead_system_give_one_email_per_notice_kind_and_day_listing_them_and_one_deactivation_notice()
    {
        // 24 messages fail today and 24 tomorrow: their day 2 and day 5 fall on two days, two e-mails each. The first
        // 24 are forwarded on their day 7, when the system is deactivated; the others then go to the primary by routing.
        var org = await platform.Organisation(b: ReceiverProfile.Dead);
        var first = new List<Guid>();
        for (var i = 0; i < 24; i++) first.Add(await platform.Send(org.Cvr, "cp-b"));
        await platform.Settle();
        var firstFailed = (await platform.Status(first[0])).FirstFailedAt!.Value;
        await platform.AdvanceTo(firstFailed + Day);
        var second = new List<Guid>();
        for (var i = 0; i < 24; i++) second.Add(await platform.Send(org.Cvr, "cp-b"));
        await platform.Settle();

        await platform.AdvanceTo(DayEnd(firstFailed + 8 * Day));

        foreach (var uuid in first.Concat(second)) Assert.Equal(MessageStatus.Delivered, (await platform.Status(uuid)).Status);
        foreach (var contact in new[] { org.TechnicalContact("b"), org.BusinessContact("b") })
        {
            var emails = await platform.EmailsTo(contact, 6);
            await platform.Settle();
            emails = platform.Smtp.To(contact);
            List<ReceivedEmail> Of(string notice) => [.. emails.Where(e => e.Subject.Contains(notice)).OrderBy(e => e.Body.Contains(first[0].ToString()) ? 0 : 1)];
            Assert.Equal((2, 2, 1, 1), (Of("dag 2").Count, Of("dag 5").Count, Of("dag 7").Count, Of("deaktiveret").Count));
            Assert.Equal(6, emails.Count);
            foreach (var (email, listed) in new[] { (Of("dag 2")[0], first), (Of("dag 2")[1], second), (Of("dag 5")[0], first), (Of("dag 5")[1], second), (Of("dag 7")[0], first) })
            {
                Assert.Contains("24 meddelelser", email.Subject);
                Assert.All(listed, uuid => Assert.Contains(uuid.ToString(), email.Body));
                Assert.DoesNotContain(first.Concat(second).Except(listed), uuid => email.Body.Contains(uuid.ToString()));
            }
        }
    }

    [Fact]
    public async Task One_positive_receipt_in_7_days_keeps_a_system_active_while_its_failing_messages_are_forwarded()
    {
        var org = await platform.Organisation();
        var poisoned = Guid.NewGuid();
        platform.Receivers.Poison(poisoned);
        var (_, firstFailed) = await platform.SendFailing(org.Cvr, "cp-b", poisoned);

        await platform.AdvanceTo(firstFailed + 3 * Day);
        var healthy = await platform.Send(org.Cvr, "cp-b");
        await platform.AdvanceTo(firstFailed + 7 * Day + TimeSpan.FromHours(1));

        var system = await platform.SystemStatus(org, "b");
        Assert.True(system.Active);
        Assert.Equal(MessageStatus.Delivered, (await platform.Status(healthy)).Status);
        // Forwarded from b on day 7; the poisoned message fails at the primary too, so it goes on to the Virk mailbox.
        var forwarded = await platform.Status(poisoned);
        Assert.Contains(forwarded.History, e => e.Kind == MessageEventKind.Forwarded && e.ReceiverSystemId == "b");
        Assert.Contains(forwarded.Attempts, a => a.ReceiverSystemId == "a");
        Assert.Equal(DeliveryTargetKind.VirkMailbox, forwarded.CurrentTarget?.Kind);
        Assert.DoesNotContain(platform.Smtp.To(org.TechnicalContact("b")), e => e.Subject.Contains("deaktiveret"));

        var later = await platform.Send(org.Cvr, "cp-b");
        await platform.Settle();
        var laterStatus = await platform.Status(later);
        Assert.Equal(MessageStatus.Delivered, laterStatus.Status);
        Assert.Equal("b", laterStatus.CurrentTarget?.ReceiverSystemId);
    }

    [Fact]
    public async Task Seven_days_of_failed_attempts_deactivate_a_system_and_its_later_mail_goes_to_the_primary()
    {
        var org = await platform.Organisation(b: ReceiverProfile.Negative);
        var (_, firstFailed) = await platform.SendFailing(org.Cvr, "cp-b");
        await platform.AdvanceTo(firstFailed + 3 * Day);
        await platform.Send(org.Cvr, "cp-b");

        await platform.AdvanceTo(firstFailed + 7 * Day - TimeSpan.FromMinutes(1));
        Assert.True((await platform.SystemStatus(org, "b")).Active);

        await platform.AdvanceTo(firstFailed + 7 * Day);
        var system = await platform.SystemStatus(org, "b");
        Assert.False(system.Active);
        Assert.Equal(0, system.PositivesInWindow);
        await platform.EmailTo(org.TechnicalContact("b"), e => e.Subject.Contains("deaktiveret"));
        await platform.EmailTo(org.BusinessContact("b"), e => e.Subject.Contains("deaktiveret"));

        var later = await platform.Send(org.Cvr, "cp-b");
        await platform.Settle();
        var status = await platform.Status(later);
        Assert.Equal(MessageStatus.Delivered, status.Status);
        Assert.Equal("a", status.CurrentTarget?.ReceiverSystemId);
        Assert.Contains("deactivated", status.History.Single(e => e.Kind == MessageEventKind.Routed).Detail);
        Assert.DoesNotContain(platform.Receivers.Pushes, p => p.MessageUuid == later && p.System == org.Simulated("b"));
    }

    [Fact]
    public async Task A_virus_receipt_stops_the_flow_without_deactivating_the_system()
    {
        var org = await platform.Organisation(b: ReceiverProfile.Virus);
        var uuid = await platform.Send(org.Cvr, "cp-b");
        await platform.Settle();

        await platform.AdvanceBy(8 * Day);

        var status = await platform.Status(uuid);
        Assert.Equal(MessageStatus.Stopped, status.Status);
        Assert.Equal(BusinessReceipt.VirusErrorCode, status.ErrorCode);
        Assert.Equal(AttemptOutcome.Virus, Assert.Single(status.Attempts).Outcome);
        Assert.Contains(status.History, e => e.Kind == MessageEventKind.SenderNotified);
        Assert.DoesNotContain(status.History, e => e.Kind == MessageEventKind.Forwarded);
        Assert.True((await platform.SystemStatus(org, "b")).Active);
        Assert.Empty(platform.Smtp.To(org.TechnicalContact("b")));
    }

    [Fact]
    public async Task The_pre_49_policy_deactivates_where_the_current_policy_does_not_on_the_same_traffic()
    {
        var current = await platform.Organisation();
        var old = await platform.Organisation(policy: DeactivationPolicy.Pre49);
        var results = new Dictionary<TestOrganisation, List<Guid>> { [current] = [], [old] = [] };
        foreach (var org in new[] { current, old })
        {
            var poisoned = Guid.NewGuid();
            platform.Receivers.Poison(poisoned, org.Simulated("b"));
            results[org].Add(await platform.Send(org.Cvr, "cp-b", poisoned));
            results[org].Add(await platform.Send(org.Cvr, "cp-b"));
        }
        await platform.AdvanceBy(2 * Day);
        foreach (var org in new[] { current, old }) results[org].Add(await platform.Send(org.Cvr, "cp-b"));
        await platform.Settle();

        Assert.True((await platform.SystemStatus(current, "b")).Active);
        Assert.False((await platform.SystemStatus(old, "b")).Active);
        Assert.Equal("b", (await platform.Status(results[current][2])).CurrentTarget?.ReceiverSystemId);
        Assert.Equal("a", (await platform.Status(results[old][2])).CurrentTarget?.ReceiverSystemId);
        await platform.EmailTo(old.TechnicalContact("b"), e => e.Subject.Contains("deaktiveret"));
    }

    [Fact]
    public async Task A_deactivated_system_can_be_reactivated_and_receives_its_mail_again()
    {
        var org = await platform.Organisation(policy: DeactivationPolicy.Pre49);
        var poisoned = Guid.NewGuid();
        platform.Receivers.Poison(poisoned);
        await platform.Send(org.Cvr, "cp-b", poisoned);
        await platform.Settle();
        Assert.False((await platform.SystemStatus(org, "b")).Active);

        using var response = await platform.Http.PostAsync($"/api/organisations/{org.Cvr}/receiver-systems/b/reactivate", null);
        response.EnsureSuccessStatusCode();
        Assert.True((await response.Content.ReadFromJsonAsync<ReceiverSystemStatus>(PlatformJson.Options))!.Active);
        await platform.EmailTo(org.TechnicalContact("b"), e => e.Subject.Contains("genaktiveret"));

        var uuid = await platform.Send(org.Cvr, "cp-b");
        await platform.Settle();
        var status = await platform.Status(uuid);
        Assert.Equal(MessageStatus.Delivered, status.Status);
        Assert.Equal("b", status.CurrentTarget?.ReceiverSystemId);
    }
}
