using DigitalPost.Contracts;
using DigitalPost.Domain;

namespace DigitalPost.Tests.Unit;

public class ContactEmailsTests
{
    private const string Cvr = TestMessages.Cvr;
    private static readonly Guid MessageUuid = Guid.Parse("6f1c2b7e-3d4a-4e8b-9a51-0c2d3e4f5a6b");
    private static readonly ReceiverSystemRegistration Esdh =
        new("ESDH-7", new Uri("https://sag.example.dk/digitalpost"), "drift@sag.example.dk", "forretning@sag.example.dk");

    private static ContactNotice Notice(ContactNoticeKind kind, Guid? message = null, double minutes = 0) =>
        new(kind, message, TestMessages.Now.AddMinutes(minutes), "negativ kvittering: ugyldig meddelelse");

    [Fact]
    public void Goes_to_the_technical_and_the_business_contact()
    {
        var email = ContactEmails.Compose(Cvr, Esdh, Notice(ContactNoticeKind.FirstWarning, MessageUuid));

        Assert.Equal(new[] { "drift@sag.example.dk", "forretning@sag.example.dk" }, email.To);
    }

    [Fact]
    public void Goes_to_the_technical_contact_alone_when_there_is_no_business_contact()
    {
        var email = ContactEmails.Compose(Cvr, Esdh with { BusinessContact = null }, Notice(ContactNoticeKind.SecondWarning, MessageUuid));

        Assert.Equal(new[] { "drift@sag.example.dk" }, email.To);
    }

    [Theory]
    [InlineData("drift@sag.example.dk")]
    [InlineData("DRIFT@sag.example.dk")]
    public void Does_not_repeat_a_business_contact_equal_to_the_technical_one(string business)
    {
        var email = ContactEmails.Compose(Cvr, Esdh with { BusinessContact = business }, Notice(ContactNoticeKind.Forwarded, MessageUuid));

        Assert.Equal(new[] { "drift@sag.example.dk" }, email.To);
    }

    [Theory]
    [InlineData(ContactNoticeKind.FirstWarning, "dag 2")]
    [InlineData(ContactNoticeKind.SecondWarning, "dag 5")]
    [InlineData(ContactNoticeKind.Forwarded, "dag 7")]
    public void The_subject_names_the_day_of_the_resend_flow(ContactNoticeKind kind, string day)
    {
        var email = ContactEmails.Compose(Cvr, Esdh, Notice(kind, MessageUuid));

        Assert.Contains(day, email.Subject);
        foreach (var other in new[] { "dag 2", "dag 5", "dag 7" }.Where(d => d != day)) Assert.DoesNotContain(other, email.Subject);
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
    public void The_body_names_the_message_and_the_receiver_system(ContactNoticeKind kind)
    {
        var email = ContactEmails.Compose(Cvr, Esdh, Notice(kind, MessageUuid));

        Assert.Contains(MessageUuid.ToString(), email.Body);
        Assert.Contains("ESDH-7", email.Body);
        Assert.Equal(TestMessages.Now, email.CreatedAt);
    }

    [Fact]
    public void The_id_is_the_same_for_the_same_notice_kind_and_message()
    {
        var first = ContactEmails.Compose(Cvr, Esdh, Notice(ContactNoticeKind.FirstWarning, MessageUuid));
        var repeated = ContactEmails.Compose(Cvr, Esdh, Notice(ContactNoticeKind.FirstWarning, MessageUuid, minutes: 90));

        Assert.Equal(first.Id, repeated.Id);
        Assert.Equal(first.Id, ContactEmails.IdOf(Cvr, Esdh.SystemId, Notice(ContactNoticeKind.FirstWarning, MessageUuid, minutes: 5)));
    }

    [Fact]
    public void The_id_differs_between_notice_kinds_and_between_messages()
    {
        var ids = new[]
        {
            ContactEmails.IdOf(Cvr, "ESDH-7", Notice(ContactNoticeKind.FirstWarning, MessageUuid)),
            ContactEmails.IdOf(Cvr, "ESDH-7", Notice(ContactNoticeKind.SecondWarning, MessageUuid)),
            ContactEmails.IdOf(Cvr, "ESDH-7", Notice(ContactNoticeKind.Forwarded, MessageUuid)),
            ContactEmails.IdOf(Cvr, "ESDH-7", Notice(ContactNoticeKind.FirstWarning, Guid.NewGuid())),
            ContactEmails.IdOf(Cvr, "ESDH-8", Notice(ContactNoticeKind.FirstWarning, MessageUuid)),
            ContactEmails.IdOf(Cvr, "ESDH-7", Notice(ContactNoticeKind.Deactivated)),
            ContactEmails.IdOf(Cvr, "ESDH-7", Notice(ContactNoticeKind.Reactivated)),
            ContactEmails.IdOf(Cvr, "ESDH-7", Notice(ContactNoticeKind.Deactivated, minutes: 60)),
        };

        Assert.Equal(ids.Length, ids.Distinct().Count());
    }
}
