using System.Net;
using System.Net.Http.Json;
using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Domain.Memo;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.Silo;
using DigitalPost.Silo.Ngdp;
using DigitalPost.Tests.Support;
using DigitalPost.Tests.Flow;
using static DigitalPost.Tests.Support.Batches;

namespace DigitalPost.Tests.Ngdp;

/// <summary>Receiver systems registered as NgDP's <c>REST_PULL</c>: nothing is pushed to them; they list their waiting
/// MeMos, fetch each as MeMo XML, answer it with an NgDP receipt and delete it, at <c>/apis/v1/memos/</c>; the resend
/// flow runs as for a push system, a MeMo not answered in time being a failed attempt.</summary>
public abstract class PullTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : PullTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : PullTests(platform);

    private static async Task<T> Read<T>(HttpResponseMessage response) => (await response.Content.ReadFromJsonAsync<T>(NgdpJson.Options))!;

    private static async Task<PagingResultUUID> Waiting(HttpClient system, int page = 0, int size = 100)
    {
        using var response = await system.GetAsync($"/apis/v1/memos/?page={page}&size={size}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await Read<PagingResultUUID>(response);
    }

    private static async Task NotFound(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("NOT_FOUND", (await Read<ErrorMessage>(response)).Code);
    }

    private static Task<HttpResponseMessage> Answer(HttpClient system, Guid id, string json) =>
        system.PostAsync($"/apis/v1/memos/{id}/receipt", new StringContent(json, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task A_pull_system_pages_its_waiting_MeMos_oldest_first_fetches_answers_and_deletes_them_and_another_system_finds_none()
    {
        var org = await platform.Organisation();
        await platform.PullSystem(org, "p");
        var sent = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            sent.Add(await platform.Send(org.Cvr, "cp-p"));
            await platform.Settle();
        }
        var system = platform.ReceiverHttp(org, "p");

        // Not pushed: waiting for its receipt from the time it was made available.
        var status = await platform.Status(sent[0]);
        Assert.Equal((MessageStatus.AwaitingReceipt, "p"), (status.Status, Assert.Single(status.Attempts).ReceiverSystemId));
        Assert.DoesNotContain(platform.Receivers.Pushes, p => sent.Contains(p.MessageUuid));
        var first = await Waiting(system, 0, 2);
        Assert.Equal(sent[..2], first.Content);
        Assert.Equal((3L, 2L), (first.TotalElements, first.TotalPages));
        Assert.Equal((1, 2), (first.Next!.Page, first.Next.Size));
        var second = await Waiting(system, 1, 2);
        Assert.Equal([sent[2]], second.Content);
        Assert.Equal(0, second.Previous!.Page);
        Assert.Null(second.Next);
        using (var badSize = await system.GetAsync("/apis/v1/memos/?size=0"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, badSize.StatusCode);
            Assert.Equal("size", Assert.Single((await Read<ErrorMessage>(badSize)).FieldErrors).Field);
        }

        // Another system, of this organisation or another, is not told they exist.
        var other = await platform.Organisation();
        await platform.PullSystem(other, "p");
        foreach (var stranger in new[] { platform.ReceiverHttp(org, "a"), platform.ReceiverHttp(other, "p") })
        {
            Assert.Empty((await Waiting(stranger)).Content);
            using (var get = await stranger.GetAsync($"/apis/v1/memos/{sent[0]}")) await NotFound(get);
            using (var delete = await stranger.DeleteAsync($"/apis/v1/memos/{sent[0]}")) await NotFound(delete);
            using (var receipt = await Answer(stranger, sent[0], """{"receiptStatus":"COMPLETED"}""")) await NotFound(receipt);
        }
        using (var notAnId = await system.GetAsync("/apis/v1/memos/not-an-id")) await NotFound(notAnId);

        // The MeMo as the sender's message, with its Content-Length.
        using (var memo = await system.GetAsync($"/apis/v1/memos/{sent[0]}"))
        {
            Assert.Equal(HttpStatusCode.OK, memo.StatusCode);
            Assert.Equal("application/xml", memo.Content.Headers.ContentType?.MediaType);
            var bytes = await memo.Content.ReadAsByteArrayAsync();
            Assert.Equal(bytes.Length, memo.Content.Headers.ContentLength);
            var file = new MemoryStream();
            var read = await MemoReader.Read(new MemoryStream(bytes), async (_, content, ct) =>
            {
                await content.CopyToAsync(file, ct);
                return (file.Length, TestBytes.Sha256(file.ToArray()));
            }, sent[0]);
            Assert.True(read.IsValid, string.Join("; ", read.Errors));
            Assert.Equal("%PDF-1.7 test"u8.ToArray(), file.ToArray());
            Assert.Equal(("Afgørelse om byggetilladelse", org.Cvr, "cp-p"),
                (read.Message!.Header.Label, read.Message.Header.Recipient.RecipientId, read.Message.Header.Recipient.ContactPointId));
        }

        // A receipt takes it off the list; so does a DELETE, which leaves it without one.
        using (var completed = await Answer(system, sent[0], """{"receiptStatus":"COMPLETED"}"""))
            Assert.Equal(HttpStatusCode.OK, completed.StatusCode);
        using (var deleted = await system.DeleteAsync($"/apis/v1/memos/{sent[1]}"))
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using (var again = await system.DeleteAsync($"/apis/v1/memos/{sent[1]}")) await NotFound(again);
        using (var gone = await system.GetAsync($"/apis/v1/memos/{sent[1]}")) await NotFound(gone);
        Assert.Equal([sent[2]], (await Waiting(system)).Content);
        await platform.Settle();
        Assert.Equal(MessageStatus.Delivered, (await platform.Status(sent[0])).Status);
        Assert.Equal(MessageStatus.AwaitingReceipt, (await platform.Status(sent[1])).Status);
    }

    [Fact]
    public async Task A_MeMo_not_fetched_and_answered_by_the_deadline_is_a_failed_attempt_and_waits_once_again_at_the_retry()
    {
        var org = await platform.Organisation();
        await platform.PullSystem(org, "p");
        var uuid = await platform.Send(org.Cvr, "cp-p");
        await platform.Settle();
        var deadline = (await platform.Status(uuid)).Attempts[0].PushedAt + PlatformFixture.ReceiptTimeout;

        await platform.AdvanceTo(deadline - TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5));
        Assert.Equal(MessageStatus.AwaitingReceipt, (await platform.Status(uuid)).Status);
        await platform.AdvanceTo(deadline);
        var failed = await platform.Status(uuid);
        Assert.Equal(MessageStatus.Failing, failed.Status);
        Assert.Equal(AttemptOutcome.NoReceipt, Assert.Single(failed.Attempts).Outcome);

        await platform.AdvanceTo(deadline + PlatformFixture.RetryInterval);
        var retried = await platform.Status(uuid);
        Assert.Equal([AttemptOutcome.NoReceipt, AttemptOutcome.Pending], retried.Attempts.Select(a => a.Outcome));
        // Made available again, once: one entry for the message however often it is.
        var waiting = await Waiting(platform.ReceiverHttp(org, "p"));
        Assert.Equal([uuid], waiting.Content);
        Assert.Equal(1L, waiting.TotalElements);

        Assert.Equal(1, await platform.Pull(org, "p"));
        await platform.Settle();
        var delivered = await platform.Status(uuid);
        Assert.Equal((MessageStatus.Delivered, AttemptOutcome.Positive), (delivered.Status, delivered.Attempts[^1].Outcome));
        Assert.Empty((await Waiting(platform.ReceiverHttp(org, "p"))).Content);
    }

    [Fact]
    public async Task Negative_and_virus_receipts_of_pull_systems_fail_the_attempt_or_stop_the_flow_and_no_receipt_leaves_it_to_its_deadline()
    {
        var org = await platform.Organisation();
        await platform.PullSystem(org, "n", ReceiverProfile.Negative);
        await platform.PullSystem(org, "v", ReceiverProfile.Virus);
        await platform.PullSystem(org, "x", ReceiverProfile.NoReceipt);
        var (negative, virus, silent) = (await platform.Send(org.Cvr, "cp-n"), await platform.Send(org.Cvr, "cp-v"), await platform.Send(org.Cvr, "cp-x"));
        await platform.Settle();

        foreach (var system in new[] { "n", "v", "x" }) Assert.Equal(1, await platform.Pull(org, system));
        await platform.Settle();

        var refused = await platform.Status(negative);
        Assert.Equal((MessageStatus.Failing, AttemptOutcome.Negative, "INVALID_MESSAGE"),
            (refused.Status, Assert.Single(refused.Attempts).Outcome, refused.Attempts[0].ErrorCode));
        var stopped = await platform.Status(virus);
        Assert.Equal((MessageStatus.Stopped, AttemptOutcome.Virus), (stopped.Status, Assert.Single(stopped.Attempts).Outcome));
        // Fetched and deleted without a receipt: it counts as none.
        Assert.Equal(MessageStatus.AwaitingReceipt, (await platform.Status(silent)).Status);
        Assert.Empty((await Waiting(platform.ReceiverHttp(org, "x"))).Content);
        await platform.AdvanceBy(PlatformFixture.ReceiptTimeout);
        Assert.Equal(AttemptOutcome.NoReceipt, Assert.Single((await platform.Status(silent)).Attempts).Outcome);
    }

    [Fact]
    public async Task A_5_MB_stored_document_is_fetched_streamed_with_its_Content_Length_and_byte_for_byte()
    {
        var org = await platform.Organisation();
        await platform.PullSystem(org, "p");
        // Not a multiple of 3 bytes: its base64 ends in padding.
        var letter = TestBytes.Random(5 * 1024 * 1024 + 2, seed: 25);
        var message = PlatformFixture.NewMessage(org.Cvr, "cp-p").WithMainFiles(new DocumentFile("brev.pdf", "application/pdf", letter));
        using (var response = await platform.Beta.PostAsJsonAsync("/api/messages", message, PlatformJson.Options))
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await platform.Settle();
        var uuid = message.Header.MessageUuid;
        Assert.Empty((await platform.Client.GetGrain<IMessageGrain>(uuid).GetDocumentFile(0, 0))!.Content);

        using (var memo = await platform.ReceiverHttp(org, "p").GetAsync($"/apis/v1/memos/{uuid}", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, memo.StatusCode);
            // base64 alone is 4 bytes for 3.
            Assert.InRange(memo.Content.Headers.ContentLength!.Value, (letter.Length + 2) / 3 * 4, (letter.Length + 2) / 3 * 4 + 4096);
            var counted = new LimitedStream(await memo.Content.ReadAsStreamAsync(), long.MaxValue);
            var file = new MemoryStream();
            var read = await MemoReader.Read(counted, async (_, content, ct) =>
            {
                await content.CopyToAsync(file, ct);
                return (file.Length, "");
            }, uuid);
            Assert.True(read.IsValid, string.Join("; ", read.Errors));
            Assert.Equal(memo.Content.Headers.ContentLength, counted.BytesRead);
            Assert.Equal(TestBytes.Sha256(letter), TestBytes.Sha256(file.ToArray()));
        }

        // The simulated system reads it as it arrives, hashing the file on the way.
        Assert.Equal(1, await platform.Pull(org, "p"));
        Assert.Equal([TestBytes.Sha256(letter)], Assert.Single(platform.Receivers.Pushes, p => p.MessageUuid == uuid).DocumentHashes);
        await platform.Settle();
        Assert.Equal(MessageStatus.Delivered, (await platform.Status(uuid)).Status);
    }

    [Fact]
    public async Task A_merge_batchs_letters_to_a_pull_system_wait_in_bulk_and_are_delivered_by_the_receipts_it_gives_after_fetching_them()
    {
        var org = new TestOrganisation(PlatformFixture.NewCvr());
        await platform.Put($"/api/organisations/{org.Cvr}", new OrganisationRegistration($"Henter selv {org.Cvr}"));
        await platform.PullSystem(org, "p", primary: true, maxMessagesPerPush: 10);
        await platform.LoadCompanies($"{org.Cvr};Henter;aktiv;;");
        var csv = "cvr;navn;beloeb\n" + string.Join("\n", Enumerable.Range(1, 25).Select(i => $"{org.Cvr};Henter;{i},00"));

        var upload = await platform.Alpha.SubmitBatch(new BatchOptions("Opkrævning"), csv);
        var queued = await platform.Alpha.WaitFor(upload.Body!.BatchId, s => s.Counts.Queued == 25, "queued for the pull system");
        Assert.Equal(0, queued.Counts.Delivered);
        var letters = (await platform.Alpha.Letters(upload.Body.BatchId)).Select(l => l.MessageUuid!.Value).ToList();
        var system = platform.ReceiverHttp(org, "p");
        var waiting = await WaitForWaiting(system, 25);
        Assert.Equal(letters.Order(), waiting.Order());

        // Each letter's MeMo carries its PDF, rendered as it is fetched.
        using (var memo = await system.GetAsync($"/apis/v1/memos/{letters[0]}"))
            Assert.Contains("<memo:filename>brev.pdf</memo:filename>", await memo.Content.ReadAsStringAsync());
        Assert.Equal(25, await platform.Pull(org, "p"));
        var done = await platform.Alpha.WaitForCompletion(upload.Body.BatchId);

        Assert.Equal(25, done.Counts.Delivered);
        Assert.Empty((await Waiting(system)).Content);
        var message = await platform.Status(letters[0]);
        Assert.Equal((MessageStatus.Delivered, "p"), (message.Status, Assert.Single(message.Attempts).ReceiverSystemId));
    }

    /// <summary>The bulk lane puts a batch's letters in the queue after the batch counts them queued: waits for them
    /// there, as an event, not for a time.</summary>
    private static async Task<IReadOnlyList<Guid>> WaitForWaiting(HttpClient system, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var page = await Waiting(system, 0, 1000);
            if (page.TotalElements >= count || DateTime.UtcNow > deadline) return page.Content;
            await Task.Delay(20);
        }
    }
}
