using System.Net;
using System.Net.Http.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.Silo;
using DigitalPost.Tests.Support;

namespace DigitalPost.Tests.Flow;

/// <summary>Receiver systems registered for NgDP's REST_PUSH: every message reaches them as a MeMo (their simulators
/// refuse anything else with 415, a failed push), and their NgDP receipts at <c>/apis/v1/memos/{id}/receipt</c> drive
/// the same resend flow as the platform's own receipts.</summary>
public abstract class RestPushFlowTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : RestPushFlowTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : RestPushFlowTests(platform);

    private Task<TestOrganisation> Organisation(ReceiverProfile b = ReceiverProfile.Healthy, ReceiverProfile a = ReceiverProfile.Healthy) =>
        platform.Organisation(b, a, protocol: ReceiverProtocol.RestPush);

    private ReceivedPush[] PushesOf(Guid uuid) => [.. platform.Receivers.Pushes.Where(p => p.MessageUuid == uuid)];

    [Fact]
    public async Task A_message_goes_out_as_a_MeMo_and_the_COMPLETED_receipt_delivers_it()
    {
        var org = await Organisation();
        var uuid = await platform.Send(org.Cvr, "cp-b");
        await platform.Settle();

        var status = await platform.Status(uuid);
        Assert.Equal(MessageStatus.Delivered, status.Status);
        Assert.Equal(AttemptOutcome.Positive, Assert.Single(status.Attempts).Outcome);
        var push = Assert.Single(PushesOf(uuid));
        Assert.Equal((org.Simulated("b"), PushFormat.Memo), (push.System, push.Format));
        Assert.NotNull(push.ContentLength);
        Assert.Equal([TestBytes.Sha256("%PDF-1.7 test"u8.ToArray())], push.DocumentHashes);
        Assert.Equal(1, (await platform.SystemStatus(org, "b")).PositivesInWindow);
    }

    [Fact]
    public async Task A_negative_receipt_fails_the_attempt_with_its_error_code_and_the_MeMo_is_pushed_again_on_the_cadence()
    {
        var org = await Organisation(b: ReceiverProfile.Negative);
        var (uuid, firstFailed) = await platform.SendFailing(org.Cvr, "cp-b");

        var failed = await platform.Status(uuid);
        Assert.Equal((AttemptOutcome.Negative, "INVALID_MESSAGE"), (Assert.Single(failed.Attempts).Outcome, failed.ErrorCode));
        platform.Receivers.SetProfile(org.Simulated("b"), ReceiverProfile.Healthy);
        await platform.AdvanceTo(firstFailed + PlatformFixture.RetryInterval);

        var delivered = await platform.Status(uuid);
        Assert.Equal(MessageStatus.Delivered, delivered.Status);
        Assert.Equal([AttemptOutcome.Negative, AttemptOutcome.Positive], delivered.Attempts.Select(a => a.Outcome));
        Assert.Equal([1, 2], PushesOf(uuid).Select(p => p.Attempt));
        Assert.All(PushesOf(uuid), p => Assert.Equal(PushFormat.Memo, p.Format));
    }

    [Fact]
    public async Task No_receipt_within_the_deadline_is_a_failed_attempt_and_the_MeMo_is_retried()
    {
        var org = await Organisation(b: ReceiverProfile.NoReceipt);
        var uuid = await platform.Send(org.Cvr, "cp-b");
        await platform.Settle();
        Assert.Equal(MessageStatus.AwaitingReceipt, (await platform.Status(uuid)).Status);

        await platform.AdvanceBy(PlatformFixture.ReceiptTimeout);
        var missing = await platform.Status(uuid);
        Assert.Equal((MessageStatus.Failing, AttemptOutcome.NoReceipt), (missing.Status, Assert.Single(missing.Attempts).Outcome));
        await platform.AdvanceTo(missing.NextActionAt!.Value);

        Assert.Equal(2, (await platform.Status(uuid)).Attempts.Count);
        Assert.Equal(2, PushesOf(uuid).Length);
    }

    [Fact]
    public async Task A_virus_receipt_stops_the_flow()
    {
        var org = await Organisation(b: ReceiverProfile.Virus);
        var uuid = await platform.Send(org.Cvr, "cp-b");
        await platform.Settle();

        var status = await platform.Status(uuid);
        Assert.Equal((MessageStatus.Stopped, BusinessReceipt.VirusErrorCode), (status.Status, status.ErrorCode));
        Assert.Contains(status.History, e => e.Kind == MessageEventKind.StoppedForVirus);
        await platform.AdvanceBy(2 * PlatformFixture.RetryInterval);
        Assert.Single(PushesOf(uuid));
    }

    [Fact]
    public async Task A_message_failing_for_7_days_is_forwarded_to_the_primary_as_a_MeMo()
    {
        var org = await Organisation(b: ReceiverProfile.Negative);
        var (uuid, firstFailed) = await platform.SendFailing(org.Cvr, "cp-b");

        await platform.AdvanceTo(firstFailed + TimeSpan.FromDays(7));

        var forwarded = await platform.Status(uuid);
        Assert.Equal((MessageStatus.Delivered, "a"), (forwarded.Status, forwarded.CurrentTarget?.ReceiverSystemId));
        Assert.Contains(forwarded.History, e => e.Kind == MessageEventKind.Forwarded && e.ReceiverSystemId == "b");
        Assert.Equal(PushFormat.Memo, Assert.Single(PushesOf(uuid), p => p.System == org.Simulated("a")).Format);
    }

    [Fact]
    public async Task A_stored_5_MB_document_goes_inside_the_MeMo_with_a_Content_Length_byte_for_byte()
    {
        var org = await Organisation();
        var letter = TestBytes.Random(5 * 1024 * 1024 + 1, seed: 51);
        var message = PlatformFixture.NewMessage(org.Cvr, "cp-b").WithMainFiles(new DocumentFile("brev.pdf", "application/pdf", letter));
        using (var response = await platform.Beta.PostAsJsonAsync("/api/messages", message, PlatformJson.Options))
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await platform.Settle();

        Assert.Equal(MessageStatus.Delivered, (await platform.Status(message.Header.MessageUuid)).Status);
        Assert.Empty((await platform.Client.GetGrain<IMessageGrain>(message.Header.MessageUuid).GetDocumentFile(0, 0))!.Content);
        var push = Assert.Single(PushesOf(message.Header.MessageUuid));
        Assert.Equal([TestBytes.Sha256(letter)], push.DocumentHashes);
        // The MeMo around it, with the file as base64.
        Assert.InRange(push.ContentLength!.Value, Base64Length(letter), Base64Length(letter) + 4096);
    }

    [Fact]
    public async Task Merge_letters_go_in_bulk_as_multipart_MeMos_each_with_its_PDF_laid_out()
    {
        var org = await BulkOrganisation(ReceiverProfile.Healthy);
        var csv = "cvr;navn;beloeb\n" + string.Join("\n", Enumerable.Range(1, 12).Select(i => $"{org.Cvr};MeMo;{i},00"));

        var upload = await platform.Alpha.SubmitBatch(new BatchOptions("Opkrævning", ReplyAllowed: true, BatchId: $"test-{Guid.NewGuid():N}"), csv);
        var done = await platform.Alpha.WaitForCompletion(upload.Body!.BatchId);

        Assert.Equal(12, done.Counts.Delivered);
        var pushes = PushesOf(org);
        // 12 letters to a system taking 10 a push: one multipart of 10 MeMos and one of 2.
        Assert.Equal([(2, 2), (10, 10)], pushes.GroupBy(p => p.InPush).Select(g => (g.Key, g.Count())).OrderBy(x => x.Item1));
        Assert.All(pushes, p => Assert.Equal(PushFormat.Memo, p.Format));
        var letters = await platform.Alpha.Letters(upload.Body.BatchId);
        Assert.Equal(letters.Select(l => l.MessageUuid!.Value).Order(), pushes.Select(p => p.MessageUuid).Order());
        // Each MeMo carries its letter's PDF as the main document's one file (laid out anew each time: the PDF's own
        // creation time and id differ from one layout to the next, so sizes, not hashes, are compared).
        Assert.All(pushes, p => Assert.Single(p.DocumentHashes!));
        var base64 = Base64Length(await Pdf(letters[0].MessageUuid!.Value));
        Assert.InRange(pushes.First(p => p.InPush == 2).ContentLength!.Value, 2 * base64, 2 * (base64 + 4096));
    }

    [Fact]
    public async Task A_merge_letter_failing_in_bulk_is_pushed_again_by_its_message_as_a_MeMo_with_its_PDF()
    {
        var org = await BulkOrganisation(ReceiverProfile.Negative);

        var upload = await platform.Alpha.SubmitBatch(new BatchOptions("Opkrævning", BatchId: $"test-{Guid.NewGuid():N}"), $"cvr;navn;beloeb\n{org.Cvr};MeMo;1,00");
        var batchId = upload.Body!.BatchId;
        await platform.Alpha.WaitFor(batchId, s => s.Counts.Failing == 1, "failing");
        var uuid = Assert.Single(await platform.Alpha.Letters(batchId)).MessageUuid!.Value;
        platform.Receivers.SetProfile(org.Simulated("a"), ReceiverProfile.Healthy);
        await platform.AdvanceBy(PlatformFixture.RetryInterval);
        var done = await platform.Alpha.WaitForCompletion(batchId);

        Assert.Equal(1, done.Counts.Delivered);
        var pushes = PushesOf(org);
        Assert.Equal(2, pushes.Length);
        var base64 = Base64Length(await Pdf(uuid));
        Assert.All(pushes, p => Assert.Equal((PushFormat.Memo, 1), (p.Format, p.DocumentHashes!.Count)));
        Assert.All(pushes, p => Assert.InRange(p.ContentLength!.Value, base64, base64 + 4096));
    }

    /// <summary>An organisation whose primary system "a" takes up to 10 MeMos a push.</summary>
    private async Task<TestOrganisation> BulkOrganisation(ReceiverProfile profile)
    {
        var org = new TestOrganisation(PlatformFixture.NewCvr());
        await platform.Put($"/api/organisations/{org.Cvr}", new OrganisationRegistration($"MeMo {org.Cvr}"));
        platform.Receivers.SetFormat(org.Simulated("a"), PushFormat.Memo);
        platform.Receivers.SetProfile(org.Simulated("a"), profile);
        await platform.Put($"/api/organisations/{org.Cvr}/receiver-systems/a", new ReceiverSystemBody(platform.Receivers.EndpointOf(org.Simulated("a")), org.TechnicalContact("a"),
            IsPrimary: true, MaxMessagesPerPush: 10, Protocol: ReceiverProtocol.RestPush));
        await platform.IssueReceiverKey(org, "a");
        await platform.LoadCompanies($"{org.Cvr};MeMo;aktiv;;");
        return org;
    }

    private static long Base64Length(byte[] bytes) => (bytes.Length + 2) / 3 * 4;

    private async Task<byte[]> Pdf(Guid uuid)
    {
        using var pdf = await platform.Alpha.GetAsync($"/api/letters/{uuid}/document.pdf");
        pdf.EnsureSuccessStatusCode();
        return await pdf.Content.ReadAsByteArrayAsync();
    }

    private ReceivedPush[] PushesOf(TestOrganisation org) => [.. platform.Receivers.Pushes.Where(p => p.System == org.Simulated("a"))];
}
