using DigitalPost.Contracts;
using DigitalPost.Domain;

namespace DigitalPost.Tests.Unit;

public class ContactEmailsTests
{
    private const string Cvr = TestMessages.Cvr;
    private static readonly Guid MessageUuid = Guid.Parse("6f1c2b7e-3d4a-4e8b-9a51-0c2d3e4f5a6b");
    private static readonly ReceiverSystemRegistration Esdh =
        new("ESDH-7", new Uri("https://sag.example.dk/digitalpost"), "drift@sag.example.dk", "forretning@sag.example.dk");
    private static readonly NoticeDays Days = new(TimeSpan.FromDays(1));

    private static ContactNotice Notice(ContactNoticeKind kind, Guid? message = null, double minutes = 0) =>
        new(kind, message, TestMessages.Now.AddMinutes(minutes), "negativ kvittering: ugyldig meddelelse");

    private static NoticeGroup Group(ContactNoticeKind kind, params Guid[] messages) =>
        new(kind, Days.DayOf(TestMessages.Now), [.. messages.Select((m, i) => new GroupedNotice(kind, Days.DayOf(TestMessages.Now), m, TestMessages.Now.AddMinutes(i), $"seneste fejl {i}"))]);

    private static OutboxEmail Digest(ContactNoticeKind kind, ReceiverSystemRegistration? system = null, params Guid[] messages) =>
        ContactEmails.Digest(Cvr, system ?? Esdh, Group(kind, messages.Length == 0 ? [MessageUuid] : messages), Days, TestMessages.Now.AddDays(1));

    [Fact]
    public void Goes_to_the_technical_and_the_business_contact()
    {
        Assert.Equal(new[] { "drift@sag.example.dk", "forretning@sag.example.dk" }, Digest(ContactNoticeKind.FirstWarning).To);
        Assert.Equal(new[] { "drift@sag.example.dk", "forretning@sag.example.dk" }, ContactEmails.Compose(Cvr, Esdh, Notice(ContactNoticeKind.Deactivated)).To);
    }

    [Fact]
    public void Goes_to_the_technical_contact_alone_when_there_is_no_business_contact()
    {
        Assert.Equal(new[] { "drift@sag.example.dk" }, Digest(ContactNoticeKind.SecondWarning, Esdh with { BusinessContact = null }).To);
    }

    [Theory]
    [InlineData("drift@sag.example.dk")]
    [InlineData("DRIFT@sag.example.dk")]
    public void Does_not_repeat_a_business_contact_equal_to_the_technical_one(string business)
    {
        Assert.Equal(new[] { "drift@sag.example.dk" }, Digest(ContactNoticeKind.Forwarded, Esdh with { BusinessContact = business }).To);
    }

    [Theory]
    [InlineData(ContactNoticeKind.FirstWarning, "dag 2")]
    [InlineData(ContactNoticeKind.SecondWarning, "dag 5")]
    [InlineData(ContactNoticeKind.Forwarded, "dag 7")]
    public void The_subject_names_the_day_of_the_resend_flow_and_how_many_messages(ContactNoticeKind kind, string day)
    {
        var one = Digest(kind);
        var three = Digest(kind, null, Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());

        Assert.Contains(day, one.Subject);
        foreach (var other in new[] { "dag 2", "dag 5", "dag 7" }.Where(d => d != day)) Assert.DoesNotContain(other, one.Subject);
        Assert.Contains("1 meddelelse ", one.Subject);
        Assert.Contains("3 meddelelser", three.Subject);
    }

    [Fact]
    public void The_subject_of_a_deactivation_says_deaktiveret()
    {
        var email = ContactEmails.Compose(Cvr, Esdh, Notice(ContactNoticeKind.Deactivated));

        Assert.Contains("deaktiveret", email.Subject);
        Assert.DoesNotContain("deaktiveret", ContactEmails.Compose(Cvr, Esdh, Notice(ContactNoticeKind.Reactivated)).Subject);
    }

    [Theory]
    [InlineData(ContactNoticeKind.FirstWarning)]
    [InlineData(ContactNoticeKind.SecondWarning)]
    [InlineData(ContactNoticeKind.Forwarded)]
    public void The_body_lists_every_message_with_its_time_and_detail_and_names_the_receiver_system_and_the_day(ContactNoticeKind kind)
    {
        var messages = Enumerable.Range(0, 48).Select(_ => Guid.NewGuid()).ToArray();

        var email = Digest(kind, null, messages);

        Assert.All(messages, m => Assert.Contains(m.ToString(), email.Body));
        Assert.Equal(48, email.Body.Split('\n').Count(l => l.StartsWith("- ")));
        Assert.Contains("seneste fejl 47", email.Body);
        Assert.Contains("ESDH-7", email.Body);
        Assert.Contains($"{TestMessages.Now.UtcDateTime:yyyy-MM-dd} 00:00:00 UTC til {TestMessages.Now.UtcDateTime.AddDays(1):yyyy-MM-dd} 00:00:00 UTC", email.Body);
        Assert.Equal(TestMessages.Now.AddDays(1), email.CreatedAt);
    }

    [Fact]
    public void A_notice_about_a_message_is_never_composed_alone_nor_a_system_change_grouped()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ContactEmails.Compose(Cvr, Esdh, Notice(ContactNoticeKind.FirstWarning, MessageUuid)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Digest(ContactNoticeKind.Deactivated));
    }

    [Fact]
    public void A_grouped_emails_id_is_its_system_kind_and_day_whatever_it_lists()
    {
        var day = Days.DayOf(TestMessages.Now);
        Assert.Equal(Digest(ContactNoticeKind.FirstWarning).Id, Digest(ContactNoticeKind.FirstWarning, null, Guid.NewGuid(), Guid.NewGuid()).Id);
        var ids = new[]
        {
            ContactEmails.DigestIdOf(Cvr, "ESDH-7", ContactNoticeKind.FirstWarning, day),
            ContactEmails.DigestIdOf(Cvr, "ESDH-7", ContactNoticeKind.SecondWarning, day),
            ContactEmails.DigestIdOf(Cvr, "ESDH-7", ContactNoticeKind.Forwarded, day),
            ContactEmails.DigestIdOf(Cvr, "ESDH-7", ContactNoticeKind.FirstWarning, day + 1),
            ContactEmails.DigestIdOf(Cvr, "ESDH-8", ContactNoticeKind.FirstWarning, day),
            ContactEmails.IdOf(Cvr, "ESDH-7", Notice(ContactNoticeKind.Deactivated)),
            ContactEmails.IdOf(Cvr, "ESDH-7", Notice(ContactNoticeKind.Reactivated)),
            ContactEmails.IdOf(Cvr, "ESDH-7", Notice(ContactNoticeKind.Deactivated, minutes: 60)),
        };

        Assert.Equal(ids.Length, ids.Distinct().Count());
    }
}

public class WarningDigestTests
{
    private static readonly DateTimeOffset Midnight = new(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);

    private static ContactNotice Notice(ContactNoticeKind kind, Guid message, DateTimeOffset at) => new(kind, message, at, "seneste fejl: 503");

    [Fact]
    public void A_day_runs_from_midnight_to_midnight_UTC_and_a_demo_day_of_10_seconds_on_the_tens()
    {
        var days = new NoticeDays(TimeSpan.FromDays(1));
        var day = days.DayOf(Midnight.AddHours(13));

        Assert.Equal((Midnight, Midnight.AddDays(1)), (days.StartOf(day), days.EndOf(day)));
        Assert.Equal(day, days.DayOf(Midnight));
        Assert.Equal(day - 1, days.DayOf(Midnight.AddTicks(-1)));
        var demo = new NoticeDays(TimeSpan.FromSeconds(10));
        Assert.Equal((Midnight.AddSeconds(20), Midnight.AddSeconds(30)), (demo.StartOf(demo.DayOf(Midnight.AddSeconds(29.9))), demo.EndOf(demo.DayOf(Midnight.AddSeconds(29.9)))));
    }

    [Fact]
    public void The_notices_of_a_day_make_one_group_per_kind_once_the_day_is_over_and_other_days_make_their_own()
    {
        var days = new NoticeDays(TimeSpan.FromDays(1));
        var (monday, tuesday) = (days.DayOf(Midnight), days.DayOf(Midnight) + 1);
        var digest = new WarningDigest();
        var early = Enumerable.Range(0, 30).Select(_ => Guid.NewGuid()).ToList();
        var late = Enumerable.Range(0, 18).Select(_ => Guid.NewGuid()).ToList();
        foreach (var m in early) Assert.True(digest.Add(Notice(ContactNoticeKind.FirstWarning, m, Midnight.AddHours(9)), monday));
        foreach (var m in early.Take(5)) Assert.True(digest.Add(Notice(ContactNoticeKind.Forwarded, m, Midnight.AddHours(23)), monday));
        foreach (var m in late) Assert.True(digest.Add(Notice(ContactNoticeKind.FirstWarning, m, Midnight.AddHours(25)), tuesday));

        Assert.Empty(digest.Due(monday));
        var mondays = digest.Due(tuesday);
        Assert.Equal([(ContactNoticeKind.FirstWarning, monday, 30), (ContactNoticeKind.Forwarded, monday, 5)], mondays.Select(g => (g.Kind, g.Day, g.Notices.Count)));
        Assert.Equal(early, mondays[0].Notices.Select(n => n.MessageUuid));
        foreach (var group in mondays) digest.Sent(group, tuesday);
        Assert.Empty(digest.Due(tuesday));
        Assert.Equal(tuesday, digest.FirstPendingDay);
        var tuesdays = Assert.Single(digest.Due(tuesday + 1));
        Assert.Equal(late, tuesdays.Notices.Select(n => n.MessageUuid));
    }

    [Fact]
    public void A_message_repeating_its_step_is_listed_once_even_after_its_days_email_went()
    {
        var digest = new WarningDigest();
        var message = Guid.NewGuid();
        Assert.True(digest.Add(Notice(ContactNoticeKind.FirstWarning, message, Midnight), 10));
        Assert.False(digest.Add(Notice(ContactNoticeKind.FirstWarning, message, Midnight.AddMinutes(1)), 10));
        digest.Sent(Assert.Single(digest.Due(11)), 11);

        Assert.False(digest.Add(Notice(ContactNoticeKind.FirstWarning, message, Midnight.AddDays(1)), 11));
        Assert.Null(digest.FirstPendingDay);
        // Its next step is another kind: listed.
        Assert.True(digest.Add(Notice(ContactNoticeKind.SecondWarning, message, Midnight.AddDays(3)), 13));
        // Listed notices are kept until the day after theirs only.
        digest.Sent(Assert.Single(digest.Due(14)), 14);
        Assert.DoesNotContain(digest.Listed, n => n.Kind == ContactNoticeKind.FirstWarning);
    }
}
