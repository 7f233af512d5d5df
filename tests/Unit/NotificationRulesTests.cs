using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Domain.Notifications;

namespace DigitalPost.Tests.Unit;

public sealed class NotificationRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private const string Anna = "0101501234";
    private const string Bo = "0202502345";

    [Fact]
    public void The_first_letter_is_notified_now()
    {
        Assert.Equal(Now, NotificationWindow.Due(null, Now - TimeSpan.FromSeconds(5), Now, Window));
    }

    [Fact]
    public void A_letter_that_landed_before_the_last_notification_was_due_is_told_by_it()
    {
        var lastDue = Now - TimeSpan.FromMinutes(1);
        Assert.Null(NotificationWindow.Due(lastDue, lastDue - TimeSpan.FromSeconds(1), Now, Window));
        // The same instant: it may have landed just after the notification went, so the next one tells of it.
        Assert.Equal(lastDue + Window, NotificationWindow.Due(lastDue, lastDue, Now, Window));
        // Deferred to the end of its window and not sent yet: a later letter is told by it too.
        var deferred = Now + TimeSpan.FromMinutes(30);
        Assert.Null(NotificationWindow.Due(deferred, Now, Now, Window));
    }

    [Fact]
    public void A_letter_after_the_last_notification_is_told_a_window_after_it_never_sooner()
    {
        var lastDue = Now - TimeSpan.FromMinutes(10);
        Assert.Equal(lastDue + Window, NotificationWindow.Due(lastDue, Now - TimeSpan.FromMinutes(5), Now, Window));
        // Once the window has passed, at once.
        var old = Now - TimeSpan.FromHours(3);
        Assert.Equal(Now, NotificationWindow.Due(old, Now - TimeSpan.FromMinutes(1), Now, Window));
    }

    [Fact]
    public void A_sweep_plans_one_notification_per_citizen_and_chosen_channel_whatever_the_number_of_letters()
    {
        var landed = new[] { (Anna, Now), (Anna, Now), (Anna, Now), (Bo, Now), ("0303503456", Now) };
        var choices = new Dictionary<string, (string?, string?)>
        {
            [Anna] = ("anna@example.dk", "+4520000000"),
            [Bo] = (null, "+4530000000"),
            ["0303503456"] = (null, null),
        };
        var planned = NotificationWindow.Plan(landed, cpr => choices.TryGetValue(cpr, out var c) ? c : null, (_, _) => null, Now, Window);

        Assert.Equal(
            [(Anna, NotificationChannel.Email, "anna@example.dk"), (Anna, NotificationChannel.Sms, "+4520000000"), (Bo, NotificationChannel.Sms, "+4530000000")],
            planned.Select(p => (p.Cpr, p.Channel, p.Address)).Order());
        Assert.All(planned, p => Assert.Equal(Now, p.Due));
    }

    [Fact]
    public void A_sweep_defers_each_channel_by_its_own_last_notification()
    {
        var lastEmail = Now - TimeSpan.FromMinutes(20);
        var planned = NotificationWindow.Plan([(Anna, Now - TimeSpan.FromMinutes(1))], _ => ("anna@example.dk", "+4520000000"),
            (_, channel) => channel == NotificationChannel.Email ? lastEmail : null, Now, Window);

        Assert.Equal(lastEmail + Window, planned.Single(p => p.Channel == NotificationChannel.Email).Due);
        Assert.Equal(Now, planned.Single(p => p.Channel == NotificationChannel.Sms).Due);
    }

    [Fact]
    public void Retries_back_off_doubling_up_to_the_longest()
    {
        var (first, max) = (TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(30));
        Assert.Equal([30, 60, 120, 240, 480, 960, 1800, 1800],
            Enumerable.Range(1, 8).Select(a => (int)NotificationBackoff.After(a, first, max).TotalSeconds));
        Assert.Equal(max, NotificationBackoff.After(1000, first, max));
    }

    [Fact]
    public void The_texts_name_no_person()
    {
        foreach (var text in new[] { NotificationText.EmailSubject, NotificationText.EmailBody, NotificationText.Sms })
            Assert.Equal(text, Cpr.Redact(text));
        Assert.True(NotificationText.Sms.Length <= 160, "one SMS");
    }

    [Theory]
    [InlineData("anna@example.dk", "anna@example.dk")]
    [InlineData("  anna.hansen+post@sub.example.dk ", "anna.hansen+post@sub.example.dk")]
    [InlineData("anna", null)]
    [InlineData("anna@", null)]
    [InlineData("@example.dk", null)]
    [InlineData("anna@example", null)]
    [InlineData("anna@@example.dk", null)]
    [InlineData("an na@example.dk", null)]
    [InlineData("Anna <anna@example.dk>", null)]
    public void An_email_address_is_checked(string value, string? expected) => Assert.Equal(expected, NotificationAddress.Email(value).Address);

    [Theory]
    [InlineData("20123456", "+4520123456")]
    [InlineData("20 12 34 56", "+4520123456")]
    [InlineData("+45 20 12 34 56", "+4520123456")]
    [InlineData("004520123456", "+4520123456")]
    [InlineData("+46701234567", "+46701234567")]
    [InlineData("2012345", null)]
    [InlineData("2012345a", null)]
    [InlineData("+0123456789", null)]
    [InlineData("+45", null)]
    public void A_mobile_number_is_checked(string value, string? expected) => Assert.Equal(expected, NotificationAddress.Mobile(value).Number);

    [Fact]
    public void The_registry_file_takes_the_citizens_notification_choices_in_optional_columns()
    {
        var (a, b, c) = (CprTests.WithCheckDigit("150805400"), CprTests.WithCheckDigit("241075321"), CprTests.WithCheckDigit("010190123"));
        var (citizens, issues) = RegistryCsv.ReadCitizens(new StringReader(
            $"cpr;navn;status;nemsms;vaerger;adresse;epost;mobil\n{a};A;tilmeldt;nej;;;a@example.dk;20 12 34 56\n{b};B;tilmeldt;nej;;;;\n{c};C;tilmeldt;nej;;;c@;123\n"));

        Assert.Equal([("a@example.dk", "+4520123456"), (null, null), (null, null)], citizens.Select(x => (x.NotificationEmail, x.NotificationMobile)));
        // A choice that cannot be used is a warning: the citizen keeps the mailbox, and the value is not echoed.
        Assert.Equal([(3, "epost", IssueSeverity.Warning), (3, "mobil", IssueSeverity.Warning)], issues.Select(i => (i.Row, i.Field, i.Severity)));
        Assert.DoesNotContain(issues, i => i.Reason.Contains("c@") || i.Reason.Contains("123"));
    }

    [Fact]
    public void A_registry_file_without_the_notification_columns_loads_as_before_with_no_choices()
    {
        var cpr = CprTests.WithCheckDigit("150805400");
        var (citizens, issues) = RegistryCsv.ReadCitizens(new StringReader($"cpr;navn;status;nemsms;vaerger;adresse\n{cpr};A;tilmeldt;nej;;\n"));

        Assert.Empty(issues);
        Assert.Equal((null, null), (citizens.Single().NotificationEmail, citizens.Single().NotificationMobile));
        var (english, _) = RegistryCsv.ReadCitizens(new StringReader($"cpr,name,status,email,mobile\n{cpr},A,registered,a@example.dk,+4520123456\n"));
        Assert.Equal(("a@example.dk", "+4520123456"), (english.Single().NotificationEmail, english.Single().NotificationMobile));
    }
}
