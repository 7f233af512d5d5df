using System.Net.Http.Json;
using System.Text;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Notifications;
using DigitalPost.Tests.Support;
using static DigitalPost.Tests.Support.Batches;

namespace DigitalPost.Tests.Flow;

/// <summary>Notifications of new post (advisering) end to end: citizens' choices loaded through the registry file,
/// letters sent as merge batches into their mailboxes, notifications to the SMTP server and the simulated SMS provider
/// on loopback, on the fake clock.</summary>
public abstract class NotificationTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : NotificationTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : NotificationTests(platform);

    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private static readonly TimeSpan Sweep = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task A_citizen_with_email_gets_one_email_for_three_letters_within_the_window_and_another_after_it()
    {
        var (anna, annaEmail, _) = await Citizen(email: true);
        var (bo, boEmail, _) = await Citizen(email: true);

        await Letters(anna, anna, anna);
        await platform.AdvanceBy(Sweep);
        var first = Assert.Single(await platform.EmailsTo(annaEmail!, 1));
        var firstAt = first.Message.Date;
        Assert.Equal("Du har fået ny post i Digital Post", first.Subject);
        Assert.DoesNotContain(anna, first.Body + first.Subject + string.Join("\n", first.Message.Headers.Select(h => h.Value)));

        // A fourth letter within the window: told after the window, not now. Bo's letter of the same sweep shows the
        // sweep and the sending happened.
        await platform.AdvanceBy(TimeSpan.FromMinutes(10));
        await Letters(anna, bo);
        await platform.AdvanceBy(Sweep);
        Assert.Single(await platform.EmailsTo(boEmail!, 1));
        Assert.Single(platform.Smtp.To(annaEmail!));

        await platform.AdvanceTo(firstAt + Window - Sweep);
        Assert.Single(platform.Smtp.To(annaEmail!));
        await platform.AdvanceTo(firstAt + Window);
        var emails = await platform.EmailsTo(annaEmail!, 2);
        Assert.Equal(2, emails.Count);
        Assert.Equal(firstAt + Window, emails[1].Message.Date);

        // No letter since: nothing more, however long (Bo's next letter shows the notifier kept sweeping).
        await platform.AdvanceBy(2 * Window);
        await Letters(bo);
        await platform.AdvanceBy(Sweep);
        Assert.Equal(2, (await platform.EmailsTo(boEmail!, 2)).Count);
        Assert.Equal(2, platform.Smtp.To(annaEmail!).Count);
    }

    [Fact]
    public async Task A_citizen_with_a_mobile_number_gets_one_sms_for_three_letters_within_the_window_and_another_after_it()
    {
        var (carl, _, carlMobile) = await Citizen(email: false, mobile: true);
        var (dorte, dorteEmail, dorteMobile) = await Citizen(email: true, mobile: true);

        await Letters(carl, carl, carl, dorte);
        await platform.AdvanceBy(Sweep);
        var first = Assert.Single(await SmsTo(carlMobile!, 1));
        Assert.Equal("Du har fået ny post i Digital Post. Læs den på borger.dk eller i appen Digital Post.", first.Text);
        Assert.DoesNotContain(carl, first.Text);
        // A citizen who chose both gets one of each.
        Assert.Single(await SmsTo(dorteMobile!, 1));
        Assert.Single(await platform.EmailsTo(dorteEmail!, 1));

        var firstAt = platform.Now;
        await Letters(carl, carl, dorte);
        await platform.AdvanceBy(Sweep);
        await platform.AdvanceTo(firstAt + Window - TimeSpan.FromMinutes(2));
        Assert.Single(platform.Sms.To(carlMobile!));
        await platform.AdvanceTo(firstAt + Window + Sweep);
        Assert.Equal(2, (await SmsTo(carlMobile!, 2)).Count);
        Assert.Equal(2, (await SmsTo(dorteMobile!, 2)).Count);
        Assert.Equal(2, (await platform.EmailsTo(dorteEmail!, 2)).Count);
    }

    [Fact]
    public async Task A_citizen_without_a_choice_gets_no_notification()
    {
        var (erik, _, _) = await Citizen(email: false);
        var (frida, fridaEmail, _) = await Citizen(email: true);
        var before = await Status();

        await Letters(erik, erik, frida);
        await platform.AdvanceBy(Sweep);

        Assert.Single(await platform.EmailsTo(fridaEmail!, 1));
        var after = await Status();
        // The sweep that told Frida queued nothing for Erik.
        Assert.Equal(1, after.Queued - before.Queued);
        Assert.True(after.LastSweepAt >= platform.Now - Sweep);
    }

    [Fact]
    public async Task A_letter_with_a_valoer_date_is_notified_on_that_date_not_before()
    {
        var (gurli, gurliEmail, _) = await Citizen(email: true);
        var (hans, hansEmail, _) = await Citizen(email: true);
        var valoer = platform.Now + TimeSpan.FromDays(2);

        await Letters(valoer, gurli);
        await Letters(hans);
        await platform.AdvanceBy(Sweep);
        Assert.Single(await platform.EmailsTo(hansEmail!, 1));
        Assert.Empty(platform.Smtp.To(gurliEmail!));

        await platform.AdvanceTo(valoer - TimeSpan.FromMinutes(5));
        await Letters(hans);
        await platform.AdvanceBy(Sweep);
        Assert.Equal(2, (await platform.EmailsTo(hansEmail!, 2)).Count);
        Assert.Empty(platform.Smtp.To(gurliEmail!));

        // The letter lands at its valør date; the notifier's next sweep takes it.
        await platform.AdvanceTo(valoer);
        await platform.AdvanceBy(Sweep);
        var email = Assert.Single(await platform.EmailsTo(gurliEmail!, 1));
        Assert.True(email.Message.Date >= valoer, $"notified {email.Message.Date:O}, valør date {valoer:O}");
    }

    /// <summary>A registered citizen with a notification e-mail address and/or mobile number of their own.</summary>
    private async Task<(string Cpr, string? Email, string? Mobile)> Citizen(bool email, bool mobile = false)
    {
        var cpr = NewAdultCpr();
        var address = email ? $"borger-{Guid.NewGuid():N}@example.dk" : null;
        var number = mobile ? $"2{Random.Shared.Next(0, 9_999_999):D7}" : null;
        using var content = new StringContent($"cpr;navn;status;nemsms;vaerger;adresse;epost;mobil\n{cpr};Borger;tilmeldt;nej;;;{address};{number}\n",
            Encoding.UTF8, "text/csv");
        using var response = await platform.Http.PutAsync("/api/registry/citizens", content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        Assert.Contains("\"issueCount\":0", body);
        return (cpr, address, number is null ? null : "+45" + number);
    }

    private Task Letters(params string[] cprs) => Letters(null, cprs);

    /// <summary>A merge batch of one letter per CPR number (a number given twice gets two), into the mailboxes.</summary>
    private async Task Letters(DateTimeOffset? valoer, params string[] cprs)
    {
        var options = new BatchOptions("Besked", ChannelChoice.DigitalPost, ValoerDate: valoer, BatchId: $"notify-{Guid.NewGuid():N}");
        var upload = await platform.Alpha.SubmitBatch(options, "cpr;navn;beloeb\n" + string.Join("\n", cprs.Select(c => $"{c};Borger;10,00")) + "\n");
        Assert.NotNull(upload.Body);
        if (valoer is null)
            Assert.Equal(cprs.Length, (await platform.Alpha.WaitForCompletion(upload.Body.BatchId)).Counts.Delivered);
        else await platform.Settle();
    }

    private async Task<NotificationStatus> Status() =>
        (await platform.Http.GetFromJsonAsync<NotificationStatus>("/api/notifications", Contracts.PlatformJson.Options))!;

    /// <summary>SMS arrive asynchronously from the outbox: waits (in real time) until the number has this many.</summary>
    private async Task<IReadOnlyList<ReceivedSms>> SmsTo(string number, int atLeast)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (platform.Sms.To(number).Count < atLeast && DateTime.UtcNow < deadline) await Task.Delay(20);
        return platform.Sms.To(number);
    }
}
