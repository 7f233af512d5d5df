using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using DigitalPost.Contracts;
using DigitalPost.Domain.Memo;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.Ngdp;
using DigitalPost.Silo.Ngdp;
using DigitalPost.Tests.Support;
using static DigitalPost.Tests.Support.MemoSamples;

namespace DigitalPost.Tests.Ngdp;

/// <summary>The NgDP face as a sender system written against NgDP drives it: plain HTTP, Basic authentication, MeMo XML
/// in, NgDP's JSON out.</summary>
public abstract class NgdpApiTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : NgdpApiTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : NgdpApiTests(platform);

    private HttpClient Ngdp(string systemId = PlatformFixture.AlphaSender, string token = PlatformFixture.AlphaKey)
    {
        var http = new HttpClient { BaseAddress = platform.Http.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{systemId}:{token}")));
        return http;
    }

    private static ByteArrayContent Xml(XDocument document, string type = "application/xml") =>
        new(document.Bytes()) { Headers = { ContentType = new MediaTypeHeaderValue(type) } };

    private static async Task<T> Read<T>(HttpResponseMessage response) => (await response.Content.ReadFromJsonAsync<T>(NgdpJson.Options))!;

    private static async Task<ErrorMessage> Refused(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return await Read<ErrorMessage>(response);
    }

    private async Task<Receipt> Send(HttpClient ngdp, XDocument memo, Guid uuid)
    {
        using var response = await ngdp.PostAsync($"/apis/v1/memos/?memo-message-uuid={uuid}", Xml(memo));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await Read<Receipt>(response);
    }

    [Fact]
    public async Task One_MeMo_is_received_and_its_receipt_is_completed_once_the_receiver_system_took_it()
    {
        var org = await platform.Organisation();
        var uuid = Guid.NewGuid();
        using var ngdp = Ngdp();

        using var response = await ngdp.PostAsync($"/apis/v1/memos/?memo-message-uuid={uuid}", Xml(Letter(uuid, recipient: org.Cvr, contactPoint: "cp-b"), "text/xml"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        // NgDP's JSON: camelCase, upper-case enum names, times with their offset.
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Equal("RECEIVED", root.GetProperty("receiptStatus").GetString());
        Assert.Equal(uuid, root.GetProperty("messageUUID").GetGuid());
        Assert.Equal("BYG-2026-0042", root.GetProperty("messageId").GetString());
        Assert.NotEqual(Guid.Empty, root.GetProperty("transmissionId").GetGuid());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("errorCode").ValueKind);
        Assert.EndsWith("+00:00", root.GetProperty("timeStamp").GetString());

        await platform.Settle();
        var push = Assert.Single(platform.Receivers.Pushes, p => p.MessageUuid == uuid);
        Assert.Equal(org.Simulated("b"), push.System);
        Assert.Equal([TestBytes.Sha256(Pdf), TestBytes.Sha256(Drawings)], push.DocumentHashes);
        using var completed = await ngdp.GetAsync($"/apis/v1/receipts/{uuid}");
        var receipt = await Read<Receipt>(completed);
        Assert.Equal((ReceiptStatus.Completed, (string?)null), (receipt.ReceiptStatus, receipt.ErrorCode));
        Assert.Equal(root.GetProperty("transmissionId").GetGuid(), receipt.TransmissionId);
    }

    [Fact]
    public async Task A_MeMo_its_receiver_system_refuses_completes_its_receipt_with_the_delivery_error()
    {
        var org = await platform.Organisation(b: ReceiverProfile.Virus);
        var uuid = Guid.NewGuid();
        using var ngdp = Ngdp();

        var received = await Send(ngdp, Letter(uuid, recipient: org.Cvr, contactPoint: "cp-b"), uuid);
        await platform.Settle();

        Assert.Equal(ReceiptStatus.Received, received.ReceiptStatus);
        var receipt = await Read<Receipt>(await ngdp.GetAsync($"/apis/v1/receipts/{uuid}"));
        Assert.Equal((ReceiptStatus.Completed, "VIRUS"), (receipt.ReceiptStatus, receipt.ErrorCode));
        Assert.False(string.IsNullOrEmpty(receipt.ErrorMessage));
    }

    [Fact]
    public async Task The_same_MeMo_again_answers_its_receipt_and_other_content_under_its_UUID_is_refused()
    {
        var uuid = Guid.NewGuid();
        using var ngdp = Ngdp();
        var citizen = Batches.NewAdultCpr();
        var first = await Send(ngdp, Letter(uuid, recipient: citizen, recipientType: "CPR"), uuid);
        await platform.Settle();

        var again = await Send(ngdp, Letter(uuid, recipient: citizen, recipientType: "CPR"), uuid);
        var other = Letter(uuid, recipient: citizen, recipientType: "CPR");
        other.At("/Message/MessageHeader/label").Value = "Et andet brev";
        var conflict = await Refused(await ngdp.PostAsync($"/apis/v1/memos/?memo-message-uuid={uuid}", Xml(other)), HttpStatusCode.BadRequest);

        Assert.Equal((first.TransmissionId, ReceiptStatus.Completed), (again.TransmissionId, again.ReceiptStatus));
        Assert.Equal("MESSAGE_UUID_CONFLICT", conflict.Code);
        Assert.Equal("/Message/MessageHeader/messageUUID", Assert.Single(conflict.FieldErrors).Field);
        Assert.Equal(ReceiptStatus.Completed, (await Read<Receipt>(await ngdp.GetAsync($"/apis/v1/receipts/{uuid}"))).ReceiptStatus);
    }

    [Fact]
    public async Task Several_MeMos_in_a_tar_lzma_each_get_a_receipt_that_the_sender_pages_reads_and_deletes()
    {
        using var ngdp = Ngdp(PlatformFixture.BetaSender, PlatformFixture.BetaKey);
        var good = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToList();
        var (invalid, notAllowed) = (Guid.NewGuid(), Guid.NewGuid());
        var memos = good.Select(u => ($"{u}.xml", Letter(u, sender: CompanyCvr, recipient: Batches.NewAdultCpr(), recipientType: "CPR"))).ToList();
        var broken = Letter(invalid, sender: CompanyCvr);
        broken.At("/Message/MessageHeader/label").Remove();
        memos.Insert(1, ("broken.xml", broken));
        memos.Add(("other-authority.xml", Letter(notAllowed, sender: AlphaCvr)));
        using var archive = new MemoryStream();
        await MemoArchive.Write(archive, memos.Select(m => (m.Item1, (Func<Stream>)(() => new MemoryStream(m.Item2.Bytes())))));

        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(archive.ToArray()) { Headers = { ContentType = new MediaTypeHeaderValue("application/x-lzma") } }, "file", "memos.tar.lzma");
        using var response = await ngdp.PostAsync("/apis/v1/memos/", form);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var receipts = await Read<List<Receipt>>(response);
        Assert.Equal([good[0], invalid, good[1], good[2], notAllowed], receipts.Select(r => r.MessageUUID!.Value));
        Assert.Equal([ReceiptStatus.Received, ReceiptStatus.Invalid, ReceiptStatus.Received, ReceiptStatus.Received, ReceiptStatus.NotAllowed],
            receipts.Select(r => r.ReceiptStatus));
        Assert.Contains("/Message/MessageHeader/label", receipts[1].ErrorMessage);
        Assert.Single(receipts.Select(r => r.TransmissionId).Distinct());
        await platform.Settle();

        // Paged two at a time, from page 0, every page pointing to its neighbours.
        var seen = new List<Guid>();
        PagingResultUUID page;
        var number = 0;
        do
        {
            page = await Read<PagingResultUUID>(await ngdp.GetAsync($"/apis/v1/receipts/?page={number}&size=2"));
            Assert.Equal((number, 2), (page.Number, page.Size));
            Assert.Equal(number == 0 ? null : new PagingArguments(number - 1, 2), page.Previous);
            Assert.Equal((page.TotalElements + 1) / 2, page.TotalPages);
            seen.AddRange(page.Content);
            number++;
        } while (page.Next is { } next && next.Page == number);
        Assert.Equal(page.TotalPages, number);
        Assert.Equal(page.TotalElements, seen.Count);
        Assert.Superset(new HashSet<Guid>([.. good, invalid, notAllowed]), seen.ToHashSet());

        var bulk = await Read<ReceiptsBulk>(await ngdp.GetAsync($"/apis/v1/receipts-bulk/?page=0&size={NgdpApi.MaxPageSize}"));
        Assert.Equal(seen.Count, bulk.TotalElements);
        Assert.All(good, u => Assert.Equal(ReceiptStatus.Completed, Assert.Single(bulk.Receipts, r => r.Id == u).ReceiptStatus));
        Assert.Equal(ReceiptStatus.NotAllowed, Assert.Single(bulk.Receipts, r => r.Id == notAllowed).ReceiptStatus);

        // Read and deleted, or deleted: gone either way.
        Assert.Equal(good[0], (await Read<Receipt>(await ngdp.GetAsync($"/apis/v1/receipts/{good[0]}?delete=true"))).MessageUUID);
        Assert.Equal(HttpStatusCode.NotFound, (await ngdp.GetAsync($"/apis/v1/receipts/{good[0]}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await ngdp.DeleteAsync($"/apis/v1/receipts/{good[1]}")).StatusCode);
        await Refused(await ngdp.DeleteAsync($"/apis/v1/receipts/{good[1]}"), HttpStatusCode.NotFound);
        var after = await Read<PagingResultUUID>(await ngdp.GetAsync("/apis/v1/receipts/?page=0&size=1000"));
        Assert.Equal(seen.Count - 2, after.TotalElements);
        // Another sender system sees none of them.
        using var alpha = Ngdp();
        await Refused(await alpha.GetAsync($"/apis/v1/receipts/{good[2]}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_tar_lzma_sent_as_the_body_is_taken_like_the_multipart_part()
    {
        using var ngdp = Ngdp();
        var uuid = Guid.NewGuid();
        using var archive = new MemoryStream();
        await MemoArchive.Write(archive, [("brev.xml", () => new MemoryStream(Letter(uuid, recipient: Batches.NewAdultCpr(), recipientType: "CPR").Bytes()))]);

        using var response = await ngdp.PostAsync("/apis/v1/memos/",
            new ByteArrayContent(archive.ToArray()) { Headers = { ContentType = new MediaTypeHeaderValue("application/x-lzma") } });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(uuid, Assert.Single(await Read<List<Receipt>>(response)).MessageUUID);
    }

    [Fact]
    public async Task Every_refusal_is_an_ErrorMessage_saying_what_and_where()
    {
        using var ngdp = Ngdp();
        var uuid = Guid.NewGuid();

        // Authentication: none, a wrong token, a token under another system's id; X-Api-Key is the same identity.
        using var anonymous = new HttpClient { BaseAddress = platform.Http.BaseAddress };
        using var none = await anonymous.GetAsync("/apis/v1/receipts/");
        Assert.Equal("UNAUTHORIZED", (await Refused(none, HttpStatusCode.Unauthorized)).Code);
        Assert.Equal("Basic", none.Headers.WwwAuthenticate.Single().Scheme);
        using (var wrong = Ngdp(token: "not-the-key")) await Refused(await wrong.GetAsync("/apis/v1/receipts/"), HttpStatusCode.Unauthorized);
        using (var swapped = Ngdp(PlatformFixture.BetaSender, PlatformFixture.AlphaKey)) await Refused(await swapped.GetAsync("/apis/v1/receipts/"), HttpStatusCode.Unauthorized);
        using (var byKey = platform.SenderHttp(PlatformFixture.AlphaKey)) Assert.Equal(HttpStatusCode.OK, (await byKey.GetAsync("/apis/v1/receipts/")).StatusCode);

        // A MeMo that breaks MeMo's rules: each error by its XML path, no CPR number echoed.
        var invalid = Letter(uuid, recipient: "3102901234", recipientType: "CPR");
        invalid.At("/Message/MessageHeader/label").Value = new string('x', 300);
        var error = await Refused(await ngdp.PostAsync($"/apis/v1/memos/?memo-message-uuid={uuid}", Xml(invalid)), HttpStatusCode.BadRequest);
        Assert.Equal("INVALID", error.Code);
        Assert.Equal(["/Message/MessageHeader/label", "/Message/MessageHeader/Recipient/recipientID"], error.FieldErrors.Select(f => f.Field).Order());
        Assert.All(error.FieldErrors, f => Assert.Equal(("memo", (string?)null), (f.Resource, f.RejectedValue)));
        Assert.Equal(HttpStatusCode.NotFound, (await ngdp.GetAsync($"/apis/v1/receipts/{uuid}")).StatusCode);

        // Another authority's MeMo: 403.
        var forbidden = await Refused(await ngdp.PostAsync($"/apis/v1/memos/?memo-message-uuid={uuid}", Xml(Letter(uuid, sender: CompanyCvr))), HttpStatusCode.Forbidden);
        Assert.Equal(("NOT_ALLOWED", "/Message/MessageHeader/Sender/senderID", CompanyCvr),
            (forbidden.Code, forbidden.FieldErrors.Single().Field, forbidden.FieldErrors.Single().RejectedValue));

        // The UUID the request names must be the MeMo's, and be a UUID.
        var mismatch = await Refused(await ngdp.PostAsync($"/apis/v1/memos/?memo-message-uuid={Guid.NewGuid()}", Xml(Letter(uuid))), HttpStatusCode.BadRequest);
        Assert.Equal("/Message/MessageHeader/messageUUID", mismatch.FieldErrors.Single().Field);
        var notUuid = await Refused(await ngdp.PostAsync("/apis/v1/memos/?memo-message-uuid=0101901234", Xml(Letter(uuid))), HttpStatusCode.BadRequest);
        Assert.Equal(("memo-message-uuid", "010190-XXXX"), (notUuid.FieldErrors.Single().Field, notUuid.FieldErrors.Single().RejectedValue));

        // Over the limit by its Content-Length: refused with its size and the limit before it is sent (Expect: 100-continue).
        using var huge = new HttpRequestMessage(HttpMethod.Post, $"/apis/v1/memos/?memo-message-uuid={uuid}") { Content = new ZerosContent(99_500_001) };
        huge.Headers.ExpectContinue = true;
        var large = await Refused(await ngdp.SendAsync(huge), HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("MESSAGE_TOO_LARGE", large.Code);
        Assert.Contains("99,500,001 bytes", large.Message);
        Assert.Contains("99,500,000 bytes", large.Message);

        // Not XML, not a tar.lzma.
        Assert.Equal("UNSUPPORTED_MEDIA_TYPE", (await Refused(await ngdp.PostAsync("/apis/v1/memos/", new StringContent("{}", Encoding.UTF8, "application/json")), HttpStatusCode.UnsupportedMediaType)).Code);
        var garbage = await Refused(await ngdp.PostAsync("/apis/v1/memos/", new ByteArrayContent(new byte[64]) { Headers = { ContentType = new MediaTypeHeaderValue("application/x-lzma") } }), HttpStatusCode.BadRequest);
        Assert.Equal("file", garbage.FieldErrors.Single().Field);
        var noPart = await Refused(await ngdp.PostAsync("/apis/v1/memos/", new MultipartFormDataContent { { new StringContent("x"), "other" } }), HttpStatusCode.BadRequest);
        Assert.Equal(("file", "MISSING"), (noPart.FieldErrors.Single().Field, noPart.FieldErrors.Single().Code));

        // Paging arguments and receipts' ids.
        var paging = await Refused(await ngdp.GetAsync("/apis/v1/receipts/?page=-1&size=5000"), HttpStatusCode.BadRequest);
        Assert.Equal(["page", "size"], paging.FieldErrors.Select(f => f.Field));
        Assert.Equal("NOT_FOUND", (await Refused(await ngdp.GetAsync("/apis/v1/receipts/not-a-uuid"), HttpStatusCode.NotFound)).Code);
        Assert.Equal("delete", (await Refused(await ngdp.GetAsync($"/apis/v1/receipts/{uuid}?delete=maybe"), HttpStatusCode.BadRequest)).FieldErrors.Single().Field);

        // Contacts: one number, well-formed; a CPR number is never echoed.
        Assert.Equal("cprNumber", (await Refused(await ngdp.GetAsync("/apis/v1/contacts/"), HttpStatusCode.BadRequest)).FieldErrors.Single().Field);
        var badCpr = await Refused(await ngdp.GetAsync("/apis/v1/contacts/?cprNumber=3102901234"), HttpStatusCode.BadRequest);
        Assert.Equal(("cprNumber", (string?)null), (badCpr.FieldErrors.Single().Field, badCpr.FieldErrors.Single().RejectedValue));
        Assert.DoesNotContain("3102901234", badCpr.FieldErrors.Single().Message);
    }

    /// <summary>A body of zeros of the declared length, made only if the server asks for it.</summary>
    private sealed class ZerosContent : HttpContent
    {
        private readonly long _length;

        public ZerosContent(long length)
        {
            _length = length;
            Headers.ContentType = new MediaTypeHeaderValue("application/xml");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var block = new byte[64 * 1024];
            for (long sent = 0; sent < _length; sent += block.Length) await stream.WriteAsync(block.AsMemory(0, (int)Math.Min(block.Length, _length - sent)));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }
    }

    [Fact]
    public async Task The_load_generators_memo_sends_files_one_by_one_or_packed_and_follows_their_receipts()
    {
        var folder = Directory.CreateTempSubdirectory("loadgen-memo-");
        try
        {
            var files = new List<FileInfo>();
            var uuids = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToList();
            foreach (var uuid in uuids)
            {
                var file = new FileInfo(Path.Combine(folder.FullName, $"{uuid}.xml"));
                await System.IO.File.WriteAllBytesAsync(file.FullName, Letter(uuid, recipient: Batches.NewAdultCpr(), recipientType: "CPR").Bytes());
                files.Add(file);
            }
            var output = new StringWriter();
            var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
            {
                Out = new Spectre.Console.AnsiConsoleOutput(output), Interactive = Spectre.Console.InteractionSupport.No, Ansi = Spectre.Console.AnsiSupport.No,
            });

            var single = await DigitalPost.LoadGen.Messages.MemoSend.Run(new(platform.Http.BaseAddress!, PlatformFixture.AlphaSender, PlatformFixture.AlphaKey,
                files[..1], Pack: false, Follow: TimeSpan.FromSeconds(30)), console, CancellationToken.None);
            var packed = await DigitalPost.LoadGen.Messages.MemoSend.Run(new(platform.Http.BaseAddress!, PlatformFixture.AlphaSender, PlatformFixture.AlphaKey,
                files[1..], Pack: true, Follow: TimeSpan.FromSeconds(30)), console, CancellationToken.None);

            Assert.Equal([uuids[0]], single.Receipts.Select(r => r.MessageUUID!.Value));
            Assert.Equal(uuids[1..], packed.Receipts.Select(r => r.MessageUUID!.Value));
            Assert.All(single.Receipts.Concat(packed.Receipts), r => Assert.Equal(("COMPLETED", (string?)null), (r.ReceiptStatus, r.ErrorCode)));
            Assert.Single(packed.Receipts.Select(r => r.TransmissionId).Distinct());
            Assert.Empty(single.Refusals.Concat(packed.Refusals));
            Assert.Contains("2 MeMo taken in, 0 refused", output.ToString());
        }
        finally { folder.Delete(recursive: true); }
    }

    [Fact]
    public async Task Contacts_answer_each_recipients_mailbox_status_from_the_registry()
    {
        var (registered, exempt, closed, unknown) = (Batches.NewAdultCpr(), Batches.NewAdultCpr(), Batches.NewAdultCpr(), Batches.NewAdultCpr());
        await platform.LoadCitizens($"{registered};Anna;tilmeldt;ja;;", $"{exempt};Bent;fritaget;nej;;Vej 1|2100 København Ø", $"{closed};Carl;lukket;nej;;");
        var company = PlatformFixture.NewCvr();
        await platform.LoadCompanies($"{company};Eksempel A/S;aktiv;;");
        using var ngdp = Ngdp();

        async Task<Contact> Lookup(string query)
        {
            var page = await Read<ContactPage>(await ngdp.GetAsync($"/apis/v1/contacts/?{query}"));
            Assert.Equal((0, 1, 1, 1), (page.CurrentPage, page.TotalPages, page.ElementsOnPage, page.TotalElements));
            return Assert.Single(page.Contacts);
        }

        var anna = await Lookup($"cprNumber={registered}");
        Assert.Equal((ContactType.Citizen, registered, PublicRegistrationStatus.Registered, true),
            (anna.Type, anna.CprNumber, anna.MailboxSubscription.PublicRegistrationStatus, anna.NemSmsSubscription));
        Assert.Equal(anna.Id, (await Lookup($"cprNumber={registered}")).Id);
        Assert.Equal(PublicRegistrationStatus.Exempt, (await Lookup($"cprNumber={exempt}")).MailboxSubscription.PublicRegistrationStatus);
        Assert.Equal(PublicRegistrationStatus.Closed, (await Lookup($"cprNumber={closed}")).MailboxSubscription.PublicRegistrationStatus);
        var nobody = await Lookup($"cprNumber={unknown}");
        Assert.Equal((ContactType.Unknown, PublicRegistrationStatus.Unknown), (nobody.Type, nobody.MailboxSubscription.PublicRegistrationStatus));
        var firm = await Lookup($"cvrNumber={company}");
        Assert.Equal((ContactType.Company, company, PublicRegistrationStatus.Registered), (firm.Type, firm.CvrNumber, firm.MailboxSubscription.PublicRegistrationStatus));
        // As NgDP writes it.
        var raw = await ngdp.GetStringAsync($"/apis/v1/contacts/?cprNumber={exempt}");
        Assert.Contains("\"publicRegistrationStatus\":\"EXEMPT\"", raw);
        Assert.Contains("\"type\":\"CITIZEN\"", raw);
    }
    [Fact]
    public async Task A_receiver_system_answers_a_MeMo_with_an_NgDP_receipt_and_only_for_what_was_pushed_to_it()
    {
        var org = await platform.Organisation(b: ReceiverProfile.NoReceipt);
        var (delivered, refused) = (await platform.Send(org.Cvr, "cp-b"), await platform.Send(org.Cvr, "cp-b"));
        await platform.Settle();
        var system = platform.ReceiverHttp(org, "b");

        Task<HttpResponseMessage> Answer(HttpClient caller, Guid id, string json) =>
            caller.PostAsync($"/apis/v1/memos/{id}/receipt", new StringContent(json, Encoding.UTF8, "application/json"));

        using (var notPushed = await Answer(platform.ReceiverHttp(org, "a"), delivered, """{"receiptStatus":"COMPLETED"}"""))
            Assert.Equal("NOT_FOUND", (await Refused(notPushed, HttpStatusCode.NotFound)).Code);
        using (var unknown = await Answer(system, Guid.NewGuid(), """{"receiptStatus":"COMPLETED"}"""))
            await Refused(unknown, HttpStatusCode.NotFound);
        using (var notFinal = await Answer(system, delivered, """{"receiptStatus":"RECEIVED"}"""))
            Assert.Equal("receiptStatus", Assert.Single((await Refused(notFinal, (HttpStatusCode)422)).FieldErrors).Field);
        using (var otherMessage = await Answer(system, delivered, $$"""{"messageUUID":"{{refused}}","receiptStatus":"COMPLETED"}"""))
            Assert.Equal("messageUUID", Assert.Single((await Refused(otherMessage, HttpStatusCode.Conflict)).FieldErrors).Field);
        using (var malformed = await Answer(system, delivered, """{"receiptStatus":"""))
            await Refused(malformed, HttpStatusCode.BadRequest);
        using (var sender = await Answer(platform.Alpha, delivered, """{"receiptStatus":"COMPLETED"}"""))
            await Refused(sender, HttpStatusCode.Forbidden);
        Assert.Equal(MessageStatus.AwaitingReceipt, (await platform.Status(delivered)).Status);

        using (var completed = await Answer(system, delivered, $$"""{"messageUUID":"{{delivered}}","receiptStatus":"COMPLETED","timeStamp":"2026-12-02T10:00:00+01:00"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, completed.StatusCode);
            Assert.Contains("APPLIED", await completed.Content.ReadAsStringAsync());
        }
        using (var again = await Answer(system, delivered, """{"receiptStatus":"COMPLETED"}"""))
            Assert.Contains("DUPLICATE", await again.Content.ReadAsStringAsync());
        using (var negative = await Answer(system, refused, """{"receiptStatus":"NOT_ALLOWED","errorCode":"UNKNOWN_CASE","errorMessage":"no such case"}"""))
            Assert.Equal(HttpStatusCode.OK, negative.StatusCode);
        await platform.Settle();

        Assert.Equal(MessageStatus.Delivered, (await platform.Status(delivered)).Status);
        var attempt = Assert.Single((await platform.Status(refused)).Attempts);
        Assert.Equal((AttemptOutcome.Negative, "UNKNOWN_CASE"), (attempt.Outcome, attempt.ErrorCode));
        Assert.Equal(1, (await platform.SystemStatus(org, "b")).PositivesInWindow);
    }
}
