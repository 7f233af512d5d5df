using System.Net;
using System.Net.Http.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.Tests.Support;

namespace DigitalPost.Tests.Flow;

public abstract class DeliveryTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : DeliveryTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : DeliveryTests(platform);

    [Fact]
    public async Task A_healthy_receiver_system_gets_its_message_and_the_positive_receipt_delivers_it()
    {
        var org = await platform.Organisation();
        var uuid = await platform.Send(org.Cvr, "cp-b");
        await platform.Settle();

        var status = await platform.Status(uuid);
        Assert.Equal(MessageStatus.Delivered, status.Status);
        Assert.Equal("b", status.CurrentTarget?.ReceiverSystemId);
        var attempt = Assert.Single(status.Attempts);
        Assert.Equal(AttemptOutcome.Positive, attempt.Outcome);
        Assert.Equal([MessageEventKind.Accepted, MessageEventKind.Routed, MessageEventKind.Pushed, MessageEventKind.ReceiptPositive], status.History.Select(e => e.Kind));
        var push = Assert.Single(platform.Receivers.Pushes, p => p.MessageUuid == uuid);
        Assert.Equal(org.Simulated("b"), push.System);
        Assert.Equal(1, (await platform.SystemStatus(org, "b")).PositivesInWindow);
    }

    [Fact]
    public async Task A_message_addressed_to_the_CVR_only_goes_to_the_primary_receiver_system()
    {
        var org = await platform.Organisation();
        var uuid = await platform.Send(org.Cvr, contactPointId: null);
        await platform.Settle();

        var status = await platform.Status(uuid);
        Assert.Equal(MessageStatus.Delivered, status.Status);
        Assert.Equal("a", status.CurrentTarget?.ReceiverSystemId);
        Assert.True(status.CurrentTarget?.IsPrimary);
    }

    [Fact]
    public async Task A_push_answered_with_an_error_status_is_a_failed_attempt_and_is_retried_on_the_cadence()
    {
        var org = await platform.Organisation(b: ReceiverProfile.Dead);
        var uuid = await platform.Send(org.Cvr, "cp-b");
        await platform.Settle();

        var failed = await platform.Status(uuid);
        Assert.Equal(MessageStatus.Failing, failed.Status);
        Assert.Equal(AttemptOutcome.TransportError, Assert.Single(failed.Attempts).Outcome);
        Assert.Equal("HTTP503", failed.ErrorCode);
        Assert.Equal(failed.FirstFailedAt + PlatformFixture.RetryInterval, failed.NextActionAt);

        platform.Receivers.SetProfile(org.Simulated("b"), ReceiverProfile.Healthy);
        await platform.AdvanceBy(PlatformFixture.RetryInterval - TimeSpan.FromMinutes(1));
        Assert.Single((await platform.Status(uuid)).Attempts);
        await platform.AdvanceBy(TimeSpan.FromMinutes(1));

        var delivered = await platform.Status(uuid);
        Assert.Equal(MessageStatus.Delivered, delivered.Status);
        Assert.Equal([AttemptOutcome.TransportError, AttemptOutcome.Positive], delivered.Attempts.Select(a => a.Outcome));
    }

    [Fact]
    public async Task No_receipt_within_the_deadline_is_a_failed_attempt()
    {
        var org = await platform.Organisation(b: ReceiverProfile.NoReceipt);
        var uuid = await platform.Send(org.Cvr, "cp-b");
        await platform.Settle();
        Assert.Equal(MessageStatus.AwaitingReceipt, (await platform.Status(uuid)).Status);

        await platform.AdvanceBy(PlatformFixture.ReceiptTimeout);
        var status = await platform.Status(uuid);
        Assert.Equal(MessageStatus.Failing, status.Status);
        Assert.Equal(AttemptOutcome.NoReceipt, Assert.Single(status.Attempts).Outcome);
        Assert.Contains(status.History, e => e.Kind == MessageEventKind.ReceiptMissing);
        Assert.Equal(1, (await platform.SystemStatus(org, "b")).FailuresInWindow);
    }

    [Fact]
    public async Task A_message_with_a_valoer_date_is_not_pushed_before_that_date()
    {
        var org = await platform.Organisation();
        var valoer = platform.Now + TimeSpan.FromDays(3);
        var uuid = await platform.Send(org.Cvr, "cp-a", valoer: valoer);

        await platform.AdvanceTo(valoer - TimeSpan.FromMinutes(1));
        var waiting = await platform.Status(uuid);
        Assert.Equal(MessageStatus.Accepted, waiting.Status);
        Assert.Empty(waiting.Attempts);

        await platform.AdvanceTo(valoer);
        Assert.Equal(MessageStatus.Delivered, (await platform.Status(uuid)).Status);
    }

    [Fact]
    public async Task A_duplicate_push_and_a_duplicate_receipt_change_nothing()
    {
        var org = await platform.Organisation();
        var message = PlatformFixture.NewMessage(org.Cvr, "cp-b");
        using (var first = await platform.Beta.PostAsJsonAsync("/api/messages", message, PlatformJson.Options))
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        await platform.Settle();
        var before = await platform.Status(message.Header.MessageUuid);

        using (var again = await platform.Beta.PostAsJsonAsync("/api/messages", message, PlatformJson.Options))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            Assert.Equal(SubmitOutcome.Duplicate, (await again.Content.ReadFromJsonAsync<SubmitResult>(PlatformJson.Options))!.Outcome);
        }
        var altered = message with { Header = message.Header with { Label = "Another letter" } };
        using (var conflict = await platform.Beta.PostAsJsonAsync("/api/messages", altered, PlatformJson.Options))
            Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        using (var receipt = await platform.ReceiverHttp(org, "b").PostAsJsonAsync("/api/receipts", new BusinessReceipt(message.Header.MessageUuid, true), PlatformJson.Options))
            Assert.Contains("Duplicate", await receipt.Content.ReadAsStringAsync());
        await platform.Settle();

        var after = await platform.Status(message.Header.MessageUuid);
        Assert.Equal(MessageStatus.Delivered, after.Status);
        Assert.Equal(before.History, after.History);
        Assert.Equal(before.Attempts, after.Attempts);
        Assert.Single(platform.Receivers.Pushes, p => p.MessageUuid == message.Header.MessageUuid);
        Assert.Equal(1, (await platform.SystemStatus(org, "b")).PositivesInWindow);
    }

    [Fact]
    public async Task A_receipt_for_an_unknown_message_is_answered_404()
    {
        var org = await platform.Organisation();
        using var response = await platform.ReceiverHttp(org, "a").PostAsJsonAsync("/api/receipts", new BusinessReceipt(Guid.NewGuid(), true), PlatformJson.Options);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task A_burst_of_receipts_and_status_reads_for_one_unknown_message_is_answered_404_every_time()
    {
        // Each call meets the message's grain without state. Were it dropped after every call, the calls queued behind
        // it would be forwarded from one new activation to the next until Orleans refused them (a 503).
        var org = await platform.Organisation();
        var receiver = platform.ReceiverHttp(org, "a");
        var uuid = Guid.NewGuid();
        var statuses = await Task.WhenAll(Enumerable.Range(0, 64).Select(async i =>
        {
            using var response = i % 2 == 0
                ? await receiver.PostAsJsonAsync("/api/receipts", new BusinessReceipt(uuid, true), PlatformJson.Options)
                : await platform.Beta.GetAsync($"/api/messages/{uuid}");
            return response.StatusCode;
        }));
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.NotFound, s));
    }

    [Fact]
    public async Task A_bad_message_is_rejected_with_the_fields_that_are_wrong_and_nothing_is_stored()
    {
        var org = await platform.Organisation();
        var message = PlatformFixture.NewMessage(org.Cvr, "cp-a", valoer: platform.Now + TimeSpan.FromDays(13));
        message = message with { Header = message.Header with { Sender = new Sender("12345678") } };
        using var response = await platform.Beta.PostAsJsonAsync("/api/messages", message, PlatformJson.Options);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("header.sender.senderId", body);
        Assert.Contains("header.doNotDeliverUntilDate", body);
        Assert.Null(await platform.Client.GetGrain<IMessageGrain>(message.Header.MessageUuid).GetStatus());
    }
}
