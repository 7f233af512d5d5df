using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.Silo;
using DigitalPost.Tests.Support;

namespace DigitalPost.Tests.Flow;

/// <summary>Moving post out of an organisation's Virk mailbox (seed 001): listed and filtered, moved by id or all, to a
/// chosen contact point or each letter's original one, delivered through the normal flow, and kept in a history.</summary>
public abstract class VirkMailboxTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : VirkMailboxTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : VirkMailboxTests(platform);

    /// <summary>An organisation with no receiver system yet: everything sent to it lands in its Virk mailbox.</summary>
    private async Task<TestOrganisation> OrganisationWithoutSystems()
    {
        var org = new TestOrganisation(PlatformFixture.NewCvr());
        await platform.Put($"/api/organisations/{org.Cvr}", new OrganisationRegistration($"Organisation {org.Cvr}"));
        return org;
    }

    private async Task AddSystems(TestOrganisation org, ReceiverProfile b = ReceiverProfile.Healthy)
    {
        foreach (var (id, profile, primary) in new[] { ("a", ReceiverProfile.Healthy, true), ("b", b, false) })
        {
            platform.Receivers.SetProfile(org.Simulated(id), profile);
            await platform.Put($"/api/organisations/{org.Cvr}/receiver-systems/{id}",
                new ReceiverSystemBody(platform.Receivers.EndpointOf(org.Simulated(id)), org.TechnicalContact(id), org.BusinessContact(id), primary));
            await platform.Put($"/api/organisations/{org.Cvr}/contact-points/cp-{id}", new ContactPointBody($"Contact point {id}", id));
            await platform.IssueReceiverKey(org, id);
        }
    }

    private async Task<VirkMailboxPage> Mailbox(TestOrganisation org, string query = "") =>
        (await platform.Http.GetFromJsonAsync<VirkMailboxPage>($"/api/organisations/{org.Cvr}/virk-mailbox{query}", PlatformJson.Options))!;

    /// <summary>Waits (in real time) until the mailbox holds <paramref name="count"/> letters: a message accepted with 202
    /// is delivered to it right after, outside the wake-up schedule that <see cref="PlatformFixture.Settle"/> watches.</summary>
    private async Task<VirkMailboxPage> MailboxHolding(TestOrganisation org, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var page = await Mailbox(org);
            if (page.Total >= count || DateTime.UtcNow > deadline) return page;
            await Task.Delay(20);
        }
    }

    private async Task<VirkMoveAnswer> Move(TestOrganisation org, object body)
    {
        using var response = await platform.Http.PostAsJsonAsync($"/api/organisations/{org.Cvr}/virk-mailbox/move", body, PlatformJson.Options);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<VirkMoveAnswer>(PlatformJson.Options))!;
    }

    /// <summary>Waits (in real time) until the message's status satisfies the condition: a move delivers in the background.</summary>
    private async Task<MessageStatusView> StatusWhen(Guid uuid, Func<MessageStatusView, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var status = await platform.Status(uuid);
            if (condition(status)) return status;
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"Message {uuid} stayed {status.Status}: {status.History[^1].Detail}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Letters_moved_to_their_original_contact_points_are_delivered_there_and_leave_the_mailbox_and_the_move_is_in_the_history()
    {
        var org = await OrganisationWithoutSystems();
        var toB1 = await platform.Send(org.Cvr, "cp-b");
        var toB2 = await platform.Send(org.Cvr, "cp-b");
        var toCvr = await platform.Send(org.Cvr, contactPointId: null);
        var all = await MailboxHolding(org, 3);
        Assert.Equal(3, all.Total);
        Assert.All(all.Items, i => Assert.Contains("no receiver system", i.Reason));
        var addressedToB = await Mailbox(org, "?contactPointId=cp-b");
        Assert.Equal(new[] { toB1, toB2 }.Order(), addressedToB.Items.Select(i => i.MessageUuid).Order());
        Assert.Equal(2, addressedToB.Total);

        await AddSystems(org);
        var answer = await Move(org, new VirkMoveBody([toB1, toB2, Guid.NewGuid()], ToOriginalContactPoint: true));
        Assert.Equal(2, answer.Move.Moved);
        Assert.Equal(new[] { toB1, toB2 }.Order(), answer.FirstMoved.Order());
        Assert.Single(answer.NotInMailbox);

        foreach (var uuid in new[] { toB1, toB2 })
        {
            var delivered = await StatusWhen(uuid, s => s.Status == MessageStatus.Delivered);
            Assert.Equal("b", delivered.CurrentTarget?.ReceiverSystemId);
            Assert.Contains(delivered.History, e => e.Kind == MessageEventKind.MovedFromVirk && e.Detail.Contains(answer.Move.MoveId.ToString()));
            Assert.Contains(platform.Receivers.Pushes, p => p.MessageUuid == uuid && p.System == org.Simulated("b"));
        }
        var left = await Mailbox(org);
        Assert.Equal(toCvr, Assert.Single(left.Items).MessageUuid);
        Assert.Equal(1, (await platform.Client.GetGrain<IOrganisationGrain>(org.Cvr).GetView())!.VirkMailboxCount);

        var moves = (await platform.Http.GetFromJsonAsync<VirkMove[]>($"/api/organisations/{org.Cvr}/virk-mailbox/moves", PlatformJson.Options))!;
        var recorded = Assert.Single(moves);
        Assert.Equal(answer.Move.MoveId, recorded.MoveId);
        Assert.Equal(platform.Now, recorded.MovedAt);
        Assert.True(recorded.Target.ToOriginalContactPoint);
        var view = (await platform.Http.GetFromJsonAsync<VirkMoveView>(answer.LettersUrl, PlatformJson.Options))!;
        Assert.Equal(new[] { toB1, toB2 }.Order(), view.Letters.Select(l => l.MessageUuid).Order());
        Assert.All(view.Letters, l => Assert.Equal("cp-b", l.ContactPointId));
        Assert.Equal(2, view.Move.Redelivered);
    }

    [Fact]
    public async Task Moving_all_to_a_chosen_contact_point_takes_every_letter_once_and_a_repeated_request_moves_nothing_twice()
    {
        var org = await OrganisationWithoutSystems();
        var sent = new List<Guid>();
        for (var i = 0; i < 5; i++) sent.Add(await platform.Send(org.Cvr, i % 2 == 0 ? "cp-b" : null));
        await MailboxHolding(org, 5);
        await AddSystems(org);

        var moveId = Guid.NewGuid();
        var first = await Move(org, new VirkMoveBody(null, All: true, ContactPointId: "cp-a", MoveId: moveId));
        var repeat = await Move(org, new VirkMoveBody(null, All: true, ContactPointId: "cp-a", MoveId: moveId));
        var another = await Move(org, new VirkMoveBody(null, All: true, ContactPointId: "cp-a"));

        Assert.Equal(5, first.Move.Moved);
        Assert.Equal(moveId, repeat.Move.MoveId);
        Assert.Equal(5, repeat.Move.Moved);
        Assert.Equal(0, another.Move.Moved);
        foreach (var uuid in sent)
        {
            var delivered = await StatusWhen(uuid, s => s.Status == MessageStatus.Delivered);
            Assert.Equal("a", delivered.CurrentTarget?.ReceiverSystemId);
            Assert.Single(delivered.History, e => e.Kind == MessageEventKind.MovedFromVirk);
        }
        Assert.Equal(0, (await Mailbox(org)).Total);
        Assert.Equal(5, platform.Receivers.Pushes.Count(p => p.System == org.Simulated("a") && sent.Contains(p.MessageUuid)));
    }

    [Fact]
    public async Task A_moved_letter_whose_new_receiver_system_fails_runs_the_resend_flow_there()
    {
        var org = await OrganisationWithoutSystems();
        var uuid = await platform.Send(org.Cvr, "cp-b");
        await MailboxHolding(org, 1);
        await AddSystems(org, b: ReceiverProfile.Negative);

        await Move(org, new VirkMoveBody([uuid], ToOriginalContactPoint: true));

        var failing = await StatusWhen(uuid, s => s.Status == MessageStatus.Failing);
        Assert.Equal("b", failing.CurrentTarget?.ReceiverSystemId);
        Assert.NotNull(failing.FirstFailedAt);
        Assert.Equal(0, (await Mailbox(org)).Total);
    }

    [Fact]
    public async Task A_move_that_names_no_letters_or_no_target_or_an_unknown_contact_point_is_refused_with_the_field()
    {
        var org = await OrganisationWithoutSystems();
        var uuid = await platform.Send(org.Cvr, "cp-b");
        await MailboxHolding(org, 1);

        async Task<JsonElement> Refused(object body, HttpStatusCode expected)
        {
            using var response = await platform.Http.PostAsJsonAsync($"/api/organisations/{org.Cvr}/virk-mailbox/move", body, PlatformJson.Options);
            Assert.Equal(expected, response.StatusCode);
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }

        var neither = await Refused(new VirkMoveBody(null, ContactPointId: "cp-a"), HttpStatusCode.BadRequest);
        Assert.True(neither.GetProperty("errors").TryGetProperty("messageUuids", out _), neither.ToString());
        var noSystem = await Refused(new VirkMoveBody([uuid], ToOriginalContactPoint: true), HttpStatusCode.BadRequest);
        Assert.True(noSystem.GetProperty("errors").TryGetProperty("toOriginalContactPoint", out _), noSystem.ToString());

        await AddSystems(org);
        var both = await Refused(new VirkMoveBody([uuid], ContactPointId: "cp-a", ToOriginalContactPoint: true), HttpStatusCode.BadRequest);
        Assert.True(both.GetProperty("errors").TryGetProperty("contactPointId", out _), both.ToString());
        var unknown = await Refused(new VirkMoveBody([uuid], ContactPointId: "cp-x"), HttpStatusCode.BadRequest);
        Assert.Contains("cp-x", unknown.GetProperty("errors").GetProperty("contactPointId")[0].GetString());
        var badRange = await Refused(new { all = true, contactPointId = "cp-a", filter = new { from = platform.Now, to = platform.Now.AddDays(-1) } }, HttpStatusCode.BadRequest);
        Assert.True(badRange.GetProperty("errors").TryGetProperty("filter.to", out _), badRange.ToString());
        await Refused(new { messageUuids = new Guid?[] { null }, contactPointId = "cp-a" }, HttpStatusCode.BadRequest);
        await Refused(new VirkMoveBody([uuid], ContactPointId: "cp-a"), HttpStatusCode.OK);

        using var noOrganisation = await platform.Http.PostAsJsonAsync($"/api/organisations/{PlatformFixture.NewCvr()}/virk-mailbox/move",
            new VirkMoveBody(null, All: true, ContactPointId: "cp-a"), PlatformJson.Options);
        Assert.Equal(HttpStatusCode.NotFound, noOrganisation.StatusCode);
    }
}
