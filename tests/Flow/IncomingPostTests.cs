using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.Silo;
using DigitalPost.Tests.Support;
using static DigitalPost.Tests.Support.Batches;

namespace DigitalPost.Tests.Flow;

/// <summary>Post from citizens and companies to an authority (seed 004, SF1606): routed by contact point, then by the
/// organisation's rules on tagged data, else to the primary system; replies checked against the letter they answer,
/// linked to it, and archived in its case.</summary>
public abstract class IncomingPostTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : IncomingPostTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : IncomingPostTests(platform);

    /// <summary>The sender systems "alfa-kommune" and "beta-styrelse" send as these CVRs; as organisations they receive post.</summary>
    private const string AlphaCvr = "29189846";
    private const string BetaCvr = "12345674";

    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    /// <summary>An authority with a healthy primary system "a" and a system "b", contact points "cp-a" and "cp-b".</summary>
    private async Task<TestOrganisation> Authority(string? cvr = null)
    {
        var org = new TestOrganisation(cvr ?? PlatformFixture.NewCvr());
        await platform.Put($"/api/organisations/{org.Cvr}", new OrganisationRegistration($"Myndighed {org.Cvr}"));
        foreach (var (id, primary) in new[] { ("a", true), ("b", false) })
        {
            platform.Receivers.SetProfile(org.Simulated(id), ReceiverProfile.Healthy);
            await platform.Put($"/api/organisations/{org.Cvr}/receiver-systems/{id}",
                new ReceiverSystemBody(platform.Receivers.EndpointOf(org.Simulated(id)), org.TechnicalContact(id), org.BusinessContact(id), primary));
            await platform.Put($"/api/organisations/{org.Cvr}/contact-points/cp-{id}", new ContactPointBody($"Kontaktpunkt {id}", id));
            await platform.IssueReceiverKey(org, id);
        }
        return org;
    }

    private static Message Post(Sender from, string toCvr, string? contactPointId = null, ContentData? data = null, Guid? replyTo = null) => new(
        new MessageHeader(Guid.NewGuid(), replyTo is null ? "Henvendelse" : "Svar", from, new Recipient(toCvr, RecipientIdType.Cvr, contactPointId),
            ContentData: data, ReplyData: replyTo is { } answered ? [new ReplyData(answered)] : null),
        new MessageBody(new Document("Henvendelse", [new DocumentFile("henvendelse.txt", "text/plain", "Hej"u8.ToArray())])));

    private async Task<HttpResponseMessage> Write(Message message) =>
        await (await platform.MailboxHttp()).PostAsJsonAsync("/api/incoming/messages", message, PlatformJson.Options);

    private async Task<Guid> Accepted(Message message)
    {
        using var response = await Write(message);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return message.Header.MessageUuid;
    }

    private async Task<JsonElement> Refused(Message message)
    {
        using var response = await Write(message);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
    }

    /// <summary>Waits (in real time) for the message to be delivered: it is pushed right after its 202, outside the
    /// wake-up schedule that <see cref="PlatformFixture.Settle"/> watches.</summary>
    private async Task<MessageStatusView> Delivered(Guid uuid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var status = await platform.Status(uuid);
        while (status.Status != MessageStatus.Delivered && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
            status = await platform.Status(uuid);
        }
        Assert.Equal(MessageStatus.Delivered, status.Status);
        return status;
    }

    [Fact]
    public async Task Post_is_routed_by_contact_point_then_by_the_organisations_rules_on_case_id_and_KLE_number_else_to_the_primary()
    {
        var org = await Authority();
        await platform.Put($"/api/organisations/{org.Cvr}/routing-rules",
            new[] { new RoutingRule("cp-b", CaseIdPrefix: "BYG-"), new RoutingRule("cp-b", KleNumberPrefix: "02.34") });
        var citizen = new Sender(NewAdultCpr(), IdType: RecipientIdType.Cpr);
        var company = new Sender(PlatformFixture.NewCvr());

        var byCase = await Accepted(Post(citizen, org.Cvr, data: new ContentData(CaseId: "byg-2026-0117")));
        var byKle = await Accepted(Post(company, org.Cvr, data: new ContentData(KleNumber: "02.34.02")));
        var noRule = await Accepted(Post(citizen, org.Cvr, data: new ContentData(CaseId: "SOC-12", KleNumber: "27.24.00")));
        var contactPointFirst = await Accepted(Post(citizen, org.Cvr, contactPointId: "cp-a", data: new ContentData(CaseId: "BYG-9")));

        Assert.Equal("b", (await Delivered(byCase)).CurrentTarget?.ReceiverSystemId);
        Assert.Contains((await platform.Status(byCase)).History, e => e.Kind == MessageEventKind.Routed && e.Detail.Contains("routing rule case id BYG-*"));
        Assert.Equal("b", (await Delivered(byKle)).CurrentTarget?.ReceiverSystemId);
        Assert.Equal("a", (await Delivered(noRule)).CurrentTarget?.ReceiverSystemId);
        Assert.Equal("a", (await Delivered(contactPointFirst)).CurrentTarget?.ReceiverSystemId);
        Assert.Contains(platform.Receivers.Pushes, p => p.MessageUuid == byKle && p.System == org.Simulated("b"));
        var view = await platform.Http.GetFromJsonAsync<OrganisationView>($"/api/organisations/{org.Cvr}", PlatformJson.Options);
        Assert.Equal(2, view!.RoutingRules!.Count);
    }

    [Fact]
    public async Task Only_a_mailbox_provider_hands_on_incoming_post()
    {
        var org = await Authority();
        var post = Post(new Sender(NewAdultCpr(), IdType: RecipientIdType.Cpr), org.Cvr);
        using var anonymous = await platform.Anonymous.PostAsJsonAsync("/api/incoming/messages", post, PlatformJson.Options);
        using var sender = await platform.Alpha.PostAsJsonAsync("/api/incoming/messages", post, PlatformJson.Options);
        using var asAuthority = await (await platform.MailboxHttp()).PostAsJsonAsync("/api/messages", post, PlatformJson.Options);
        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden), (anonymous.StatusCode, sender.StatusCode, asAuthority.StatusCode));
    }

    [Fact]
    public async Task A_routing_rule_must_test_one_tag_and_name_a_contact_point_of_the_organisation()
    {
        var org = await Authority();
        async Task<JsonElement> RefusedRules(object rules)
        {
            using var response = await platform.Http.PutAsJsonAsync($"/api/organisations/{org.Cvr}/routing-rules", rules, PlatformJson.Options);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        }

        Assert.True((await RefusedRules(new[] { new RoutingRule("cp-x", CaseIdPrefix: "BYG-") })).TryGetProperty("[0].contactPointId", out _));
        Assert.True((await RefusedRules(new[] { new RoutingRule("cp-a", "BYG-", "02.34") })).TryGetProperty("[0]", out _));
        Assert.True((await RefusedRules(new[] { new RoutingRule("cp-a", CaseIdPrefix: "A"), null })).TryGetProperty("[1]", out _));
        var view = await platform.Http.GetFromJsonAsync<OrganisationView>($"/api/organisations/{org.Cvr}", PlatformJson.Options);
        Assert.Empty(view!.RoutingRules!);
    }

    [Fact]
    public async Task A_reply_to_a_letter_that_allows_replies_is_delivered_to_the_authority_and_linked_to_the_letter()
    {
        var authority = await Authority(BetaCvr);
        var company = await platform.Organisation();
        var letter = PlatformFixture.NewMessage(company.Cvr, "cp-a") is var m
            ? m with { Header = m.Header with { Sender = new Sender(authority.Cvr), Reply = true, ReplyByDateTime = platform.Now + 14 * Day } }
            : null!;
        using (var sent = await platform.Beta.PostAsJsonAsync("/api/messages", letter, PlatformJson.Options)) Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        await platform.Settle();

        var reply = await Accepted(Post(new Sender(company.Cvr), authority.Cvr, replyTo: letter.Header.MessageUuid));

        Assert.Equal("a", (await Delivered(reply)).CurrentTarget?.ReceiverSystemId);
        var shown = await platform.Beta.GetFromJsonAsync<MessageStatusView>($"/api/messages/{letter.Header.MessageUuid}", PlatformJson.Options);
        Assert.Equal(reply, Assert.Single(shown!.Replies!).ReplyUuid);
        // The same reply again is the same message, linked once.
        using (var again = await Write(Post(new Sender(company.Cvr), authority.Cvr, replyTo: letter.Header.MessageUuid) is var copy
            ? copy with { Header = copy.Header with { MessageUuid = reply } } : null!))
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Single((await platform.Beta.GetFromJsonAsync<MessageStatusView>($"/api/messages/{letter.Header.MessageUuid}", PlatformJson.Options))!.Replies!);
    }

    [Fact]
    public async Task A_reply_is_refused_with_the_reason_when_the_letter_allows_none_its_time_has_passed_or_it_was_sent_to_someone_else()
    {
        var authority = await Authority(BetaCvr);
        var company = await platform.Organisation();
        async Task<Guid> SendLetter(bool reply, DateTimeOffset? by)
        {
            var message = PlatformFixture.NewMessage(company.Cvr, "cp-a");
            message = message with { Header = message.Header with { Sender = new Sender(authority.Cvr), Reply = reply, ReplyByDateTime = by } };
            using var sent = await platform.Beta.PostAsJsonAsync("/api/messages", message, PlatformJson.Options);
            Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
            return message.Header.MessageUuid;
        }
        var noReplies = await SendLetter(reply: false, by: null);
        var expiring = await SendLetter(reply: true, by: platform.Now + Day);
        await platform.Settle();
        await platform.AdvanceBy(2 * Day);
        var from = new Sender(company.Cvr);

        Assert.Contains("does not allow replies", (await Refused(Post(from, authority.Cvr, replyTo: noReplies))).GetProperty("header.replyData[0].messageUuid")[0].GetString());
        Assert.Contains("has passed", (await Refused(Post(from, authority.Cvr, replyTo: expiring))).GetProperty("header.replyData[0].messageUuid")[0].GetString());
        Assert.Contains("no letter", (await Refused(Post(new Sender(PlatformFixture.NewCvr()), authority.Cvr, replyTo: noReplies))).GetProperty("header.replyData[0].messageUuid")[0].GetString());
        Assert.Contains("no letter", (await Refused(Post(from, authority.Cvr, replyTo: Guid.NewGuid()))).GetProperty("header.replyData[0].messageUuid")[0].GetString());
        Assert.True((await Refused(Post(from, PlatformFixture.NewCvr(), replyTo: expiring))).TryGetProperty("header.recipient.recipientId", out _));
        Assert.True((await Refused(Post(from, authority.Cvr) with { Header = Post(from, authority.Cvr).Header with { Recipient = new Recipient(NewAdultCpr(), RecipientIdType.Cpr) } }))
            .TryGetProperty("header.recipient.idType", out _));
        Assert.Empty((await platform.Beta.GetFromJsonAsync<MessageStatusView>($"/api/messages/{noReplies}", PlatformJson.Options))!.Replies!);
    }

    [Fact]
    public async Task A_citizens_reply_to_a_merge_letter_is_linked_to_it_and_archived_in_the_same_case()
    {
        await Authority(AlphaCvr);
        var cpr = NewAdultCpr();
        await platform.LoadCitizens($"{cpr};Anna;tilmeldt;nej;;");
        var upload = await platform.Alpha.SubmitBatch(new BatchOptions("Indkaldelse", ReplyAllowed: true), $"cpr;navn;beloeb\n{cpr};Anna;1,00\n");
        await platform.Alpha.WaitFor(upload.Body!.BatchId, s => s.Phase == BatchPhase.Completed && s.ArchiveQueue == 0, "archived");
        var letter = Assert.Single(await platform.Alpha.Letters(upload.Body.BatchId)).MessageUuid!.Value;

        var reply = await Accepted(Post(new Sender(cpr, IdType: RecipientIdType.Cpr), AlphaCvr, replyTo: letter));

        await Delivered(reply);
        var shown = await platform.Alpha.GetFromJsonAsync<MessageStatusView>($"/api/messages/{letter}", PlatformJson.Options);
        Assert.Equal(reply, Assert.Single(shown!.Replies!).ReplyUuid);
        var archived = await platform.Alpha.GetFromJsonAsync<ArchiveCase>($"/api/archive/{cpr}", PlatformJson.Options);
        Assert.Contains(archived!.Letters, l => l.MessageUuid == letter && l.ReplyTo is null);
        Assert.Contains(archived.Letters, l => l.MessageUuid == reply && l.ReplyTo == letter && l.BatchId == upload.Body.BatchId);
        // Another citizen cannot answer her letter.
        Assert.Contains("no letter", (await Refused(Post(new Sender(NewAdultCpr(), IdType: RecipientIdType.Cpr), AlphaCvr, replyTo: letter)))
            .GetProperty("header.replyData[0].messageUuid")[0].GetString());
    }
}
