using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using DigitalPost.Contracts;
using DigitalPost.Domain.Memo;
using DigitalPost.Infrastructure;
using DigitalPost.Tests.Support;
using static DigitalPost.Tests.Support.MemoSamples;

namespace DigitalPost.Tests.Ngdp;

/// <summary>MeMo read and written as it streams: the mapping to the platform's message both ways, every error of a
/// document named by its XML path, and the 99.5 MB limit.</summary>
public class MemoTests
{
    private readonly MemoryDocumentStore _store = new();

    private async Task<MemoRead> Read(byte[] xml, Guid? expected = null) =>
        await MemoReader.Read(new MemoryStream(xml), async (key, content, token) =>
        {
            var put = await _store.Put(key, content, token);
            return (put.Length, put.Sha256);
        }, expected);

    private Task<MemoRead> Read(XDocument document, Guid? expected = null) => Read(document.Bytes(), expected);

    private async Task<byte[]> Write(Message message, MemoExtras extras)
    {
        using var output = new MemoryStream();
        await MemoWriter.Write(output, message, extras, (key, _, token) => _store.Open(key, token));
        return output.ToArray();
    }

    private async Task<byte[]> Stored(DocumentKey key)
    {
        await using var content = (await _store.Open(key))!;
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task A_letter_maps_to_the_platforms_message_with_its_files_in_the_document_store()
    {
        var uuid = Guid.NewGuid();
        var read = await Read(Letter(uuid, contactPoint: "cp-byg"));

        Assert.Empty(read.Errors);
        var message = read.Message!;
        Assert.Equal(uuid, message.Header.MessageUuid);
        Assert.Equal("BYG-2026-0042", read.MessageId);
        Assert.Equal("1.2", read.MemoVersion);
        Assert.Equal("Afgørelse om byggetilladelse", message.Header.Label);
        Assert.Equal(new Sender(AlphaCvr, "Alfa Kommune"), message.Header.Sender);
        Assert.Equal(new Recipient(CompanyCvr, RecipientIdType.Cvr, "cp-byg", "Eksempel A/S"), message.Header.Recipient);
        Assert.True(message.Header.LegalNotification);
        Assert.Equal("BYG-7", message.Header.ContentData!.CaseId);
        var action = Assert.Single(message.Body.MainDocument.Actions!);
        Assert.Equal((ActionCode.Betaling, "https://betaling.example.dk/byg-7"), (action.ActionCode, action.EntryPoint!.ToString()));
        var main = Assert.Single(message.Body.MainDocument.Files);
        Assert.Equal(("afgoerelse.pdf", "application/pdf", "da", (long)Pdf.Length), (main.Filename, main.EncodingFormat, main.Language, main.Length!.Value));
        Assert.Empty(main.Content);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Pdf)), main.Sha256);
        Assert.Equal(Pdf, await Stored(new DocumentKey(uuid, 0, 0)));
        Assert.Equal(Drawings, await Stored(new DocumentKey(uuid, 1, 0)));
        Assert.Equal(new DocumentKey(uuid, 1, 0).ToLocation(), message.Body.AdditionalDocuments![0].Files[0].Location);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("1.2")]
    public async Task A_message_written_and_read_back_is_the_same_message_and_writes_the_same_document(string version)
    {
        var uuid = Guid.NewGuid();
        var message = new Message(
            new MessageHeader(uuid, "Påmindelse", new Sender(AlphaCvr, "Alfa Kommune"), new Recipient("0101901234", RecipientIdType.Cpr, Label: "Anna"),
                MessageType.DigitalPost, "Husk fristen", Mandatory: true, LegalNotification: false, Reply: true,
                ReplyByDateTime: new DateTimeOffset(2026, 2, 1, 12, 0, 0, TimeSpan.Zero), DoNotDeliverUntilDate: new DateTimeOffset(2026, 1, 8, 0, 0, 0, TimeSpan.Zero),
                ContentData: new ContentData("SAG-1", "27.24.00"), ReplyData: [new ReplyData(Guid.NewGuid())]),
            new MessageBody(
                new Document("Brev", [new DocumentFile("brev.pdf", "application/pdf", Pdf)], [
                    new DocumentAction(ActionCode.Aftale, "Book tid", Reservation: "Samtale på rådhuset",
                        StartDateTime: new DateTimeOffset(2026, 1, 20, 9, 0, 0, TimeSpan.Zero), EndDateTime: new DateTimeOffset(2026, 1, 20, 10, 0, 0, TimeSpan.Zero)),
                    new DocumentAction(ActionCode.Bekraeft, "Bekræft", new Uri("https://svar.example.dk/1"))]),
                [new Document("Bilag", [new DocumentFile("bilag.bin", "application/octet-stream", Drawings, "en")])],
                [new Document("", [new DocumentFile("data.xml", "text/xml", Encoding.UTF8.GetBytes("<data/>"))])]));
        var extras = new MemoExtras(version, "ID-1", new DateTimeOffset(2026, 1, 5, 7, 30, 0, TimeSpan.Zero));

        var written = await Write(message, extras);
        var read = await Read(written);

        Assert.Empty(read.Errors);
        Assert.Equal((version, "ID-1", extras.CreatedDateTime), (read.MemoVersion, read.MessageId, read.CreatedDateTime));
        // The same message, its files now references into the store that hold the same bytes.
        var carried = MessageDocuments.MapFiles(read.Message!, (_, file) => file with { Location = null, Length = null, Sha256 = null });
        var original = MessageDocuments.MapFiles(message, (_, file) => file with { Content = [] });
        Assert.Equal(JsonSerializer.Serialize(original, PlatformJson.Options), JsonSerializer.Serialize(carried, PlatformJson.Options));
        foreach (var (key, file) in MessageDocuments.Files(message)) Assert.Equal(file.Content, await Stored(key));
        // Written again from the store, it is the same document byte for byte.
        Assert.Equal(written, await Write(read.Message!, extras));
    }

    [Fact]
    public async Task A_MeMo_1_1_names_its_schema_version_and_may_call_the_language_inLanguage()
    {
        var uuid = Guid.NewGuid();
        var document = Letter(uuid, version: "1.1");
        foreach (var language in document.Descendants(M + "language").ToList()) language.Name = M + "inLanguage";

        var read = await Read(document);

        Assert.Empty(read.Errors);
        Assert.Equal("da", read.Message!.Body.MainDocument.Files[0].Language);
        var written = Encoding.UTF8.GetString(await Write(read.Message, new MemoExtras("1.1")));
        Assert.Contains("memoVersion=\"1.1\" memoSchVersion=\"1.1.0\"", written);
    }

    public static TheoryData<string> Errors() => [.. Mutations.Keys];

    /// <summary>Each change to the sample letter, and the one error (path and code) it must give.</summary>
    private static readonly Dictionary<string, (Action<XDocument> Change, string Path, string Code)> Mutations = new()
    {
        ["root in another namespace"] = (d => d.Root!.Name = "Message", "/Message", MemoError.Invalid),
        ["no memoVersion"] = (d => d.Root!.Attribute("memoVersion")!.Remove(), "/Message/@memoVersion", MemoError.Missing),
        ["memoVersion 2.0"] = (d => d.Root!.SetAttributeValue("memoVersion", "2.0"), "/Message/@memoVersion", MemoError.Unsupported),
        ["1.1 without memoSchVersion"] = (d => d.Root!.SetAttributeValue("memoVersion", "1.1"), "/Message/@memoSchVersion", MemoError.Missing),
        ["no MessageHeader"] = (d => d.At("/Message/MessageHeader").Remove(), "/Message/MessageHeader", MemoError.Missing),
        ["no messageType"] = (d => d.At("/Message/MessageHeader/messageType").Remove(), "/Message/MessageHeader/messageType", MemoError.Missing),
        ["messageType BREV"] = (d => d.At("/Message/MessageHeader/messageType").Value = "BREV", "/Message/MessageHeader/messageType", MemoError.Invalid),
        ["no messageUUID"] = (d => d.At("/Message/MessageHeader/messageUUID").Remove(), "/Message/MessageHeader/messageUUID", MemoError.Missing),
        ["messageUUID not a UUID"] = (d => d.At("/Message/MessageHeader/messageUUID").Value = "brev-42", "/Message/MessageHeader/messageUUID", MemoError.Invalid),
        ["no label"] = (d => d.At("/Message/MessageHeader/label").Remove(), "/Message/MessageHeader/label", MemoError.Missing),
        ["empty label"] = (d => d.At("/Message/MessageHeader/label").Value = "", "/Message/MessageHeader/label", MemoError.Missing),
        ["label of 257"] = (d => d.At("/Message/MessageHeader/label").Value = new string('x', 257), "/Message/MessageHeader/label", MemoError.TooLong),
        ["notification of 151"] = (d => d.At("/Message/MessageHeader/notification").Value = new string('x', 151), "/Message/MessageHeader/notification", MemoError.TooLong),
        ["label with an element"] = (d => d.At("/Message/MessageHeader/label").Add(new XElement(M + "b", "fed")), "/Message/MessageHeader/label", MemoError.Invalid),
        ["1.1 without mandatory"] = (d => { To11(d); d.At("/Message/MessageHeader/mandatory").Remove(); }, "/Message/MessageHeader/mandatory", MemoError.Missing),
        ["1.1 without legalNotification"] = (d => { To11(d); d.At("/Message/MessageHeader/legalNotification").Remove(); }, "/Message/MessageHeader/legalNotification", MemoError.Missing),
        ["mandatory not a boolean"] = (d => d.At("/Message/MessageHeader/mandatory").Value = "ja", "/Message/MessageHeader/mandatory", MemoError.Invalid),
        ["replyByDateTime not UTC"] = (d => d.At("/Message/MessageHeader/legalNotification").AddAfterSelf(new XElement(M + "replyByDateTime", "2026-02-01T12:00:00+01:00")),
            "/Message/MessageHeader/replyByDateTime", MemoError.Invalid),
        ["doNotDeliverUntilDate not a date"] = (d => d.At("/Message/MessageHeader/legalNotification").AddAfterSelf(new XElement(M + "doNotDeliverUntilDate", "08-01-2026")),
            "/Message/MessageHeader/doNotDeliverUntilDate", MemoError.Invalid),
        ["no Sender"] = (d => d.At("/Message/MessageHeader/Sender").Remove(), "/Message/MessageHeader/Sender", MemoError.Missing),
        ["no senderID"] = (d => d.At("/Message/MessageHeader/Sender/senderID").Remove(), "/Message/MessageHeader/Sender/senderID", MemoError.Missing),
        ["senderID not a CVR"] = (d => d.At("/Message/MessageHeader/Sender/senderID").Value = "12345678", "/Message/MessageHeader/Sender/senderID", MemoError.Invalid),
        ["sender idType CPR"] = (d => d.At("/Message/MessageHeader/Sender/idType").Value = "CPR", "/Message/MessageHeader/Sender/idType", MemoError.Unsupported),
        ["no sender label"] = (d => d.At("/Message/MessageHeader/Sender/label").Remove(), "/Message/MessageHeader/Sender/label", MemoError.Missing),
        ["no Recipient"] = (d => d.At("/Message/MessageHeader/Recipient").Remove(), "/Message/MessageHeader/Recipient", MemoError.Missing),
        ["no recipientID"] = (d => d.At("/Message/MessageHeader/Recipient/recipientID").Remove(), "/Message/MessageHeader/Recipient/recipientID", MemoError.Missing),
        ["recipient idType PNR"] = (d => d.At("/Message/MessageHeader/Recipient/idType").Value = "PNR", "/Message/MessageHeader/Recipient/idType", MemoError.Invalid),
        ["recipient CPR not a date"] = (d => { d.At("/Message/MessageHeader/Recipient/idType").Value = "CPR"; d.At("/Message/MessageHeader/Recipient/recipientID").Value = "3102901234"; },
            "/Message/MessageHeader/Recipient/recipientID", MemoError.Invalid),
        ["ContactPoint without its id"] = (d => d.At("/Message/MessageHeader/Recipient").Add(new XElement(M + "ContactPoint")),
            "/Message/MessageHeader/Recipient/ContactPoint/contactPointID", MemoError.Missing),
        ["three ContactInfo"] = (d => d.At("/Message/MessageHeader/Recipient").Add(new XElement(M + "ContactPoint", new XElement(M + "contactPointID", "cp"),
            Enumerable.Range(0, 3).Select(_ => new XElement(M + "ContactInfo", new XElement(M + "label", "x"))))),
            "/Message/MessageHeader/Recipient/ContactPoint/ContactInfo[3]", MemoError.TooMany),
        ["CaseID without caseID"] = (d => d.At("/Message/MessageHeader/ContentData/CaseID/caseID").Remove(), "/Message/MessageHeader/ContentData/CaseID/caseID", MemoError.Missing),
        ["eleven AdditionalContentData"] = (d => d.At("/Message/MessageHeader/ContentData").Add(Enumerable.Range(0, 11).Select(_ => new XElement(M + "AdditionalContentData"))),
            "/Message/MessageHeader/ContentData/AdditionalContentData[11]", MemoError.TooMany),
        ["ForwardData without originalSender"] = (d => d.At("/Message/MessageHeader").Add(new XElement(M + "ForwardData",
            new XElement(M + "messageUUID", Guid.NewGuid()), new XElement(M + "originalMessageDateTime", "2026-01-01T10:00:00Z"))),
            "/Message/MessageHeader/ForwardData/originalSender", MemoError.Missing),
        ["ReplyData without messageUUID"] = (d => d.At("/Message/MessageHeader").Add(new XElement(M + "ReplyData")), "/Message/MessageHeader/ReplyData[1]/messageUUID", MemoError.Missing),
        ["five AdditionalReplyData"] = (d => d.At("/Message/MessageHeader").Add(new XElement(M + "ReplyData", new XElement(M + "messageUUID", Guid.NewGuid()),
            Enumerable.Range(0, 5).Select(_ => new XElement(M + "AdditionalReplyData")))), "/Message/MessageHeader/ReplyData[1]/AdditionalReplyData[5]", MemoError.TooMany),
        ["an element of another namespace"] = (d => d.At("/Message/MessageHeader").Add(new XElement(XNamespace.Get("urn:other") + "note", "x")), "/Message/MessageHeader/note", MemoError.Invalid),
        ["text between elements"] = (d => d.At("/Message/MessageHeader/Sender").Add(new XText("løs tekst")), "/Message/MessageHeader/Sender", MemoError.Invalid),
        ["no MessageBody"] = (d => d.At("/Message/MessageBody").Remove(), "/Message/MessageBody", MemoError.Missing),
        ["NemSMS without a body"] = (d => { d.At("/Message/MessageHeader/messageType").Value = "NEMSMS"; d.At("/Message/MessageBody").Remove(); }, "/Message/MessageBody", MemoError.Unsupported),
        ["no createdDateTime"] = (d => d.At("/Message/MessageBody/createdDateTime").Remove(), "/Message/MessageBody/createdDateTime", MemoError.Missing),
        ["createdDateTime not a time"] = (d => d.At("/Message/MessageBody/createdDateTime").Value = "i går", "/Message/MessageBody/createdDateTime", MemoError.Invalid),
        ["no MainDocument"] = (d => d.At("/Message/MessageBody/MainDocument").Remove(), "/Message/MessageBody/MainDocument", MemoError.Missing),
        ["technical before additional"] = (d => d.At("/Message/MessageBody/MainDocument").AddAfterSelf(new XElement(M + "TechnicalDocument", File("t.xml", "text/xml", [1]))),
            "/Message/MessageBody/AdditionalDocument[1]", MemoError.Invalid),
        ["a document without a File"] = (d => d.At("/Message/MessageBody/AdditionalDocument/File").Remove(), "/Message/MessageBody/AdditionalDocument[1]/File", MemoError.Missing),
        ["no encodingFormat"] = (d => d.At("/Message/MessageBody/MainDocument/File/encodingFormat").Remove(), "/Message/MessageBody/MainDocument/File[1]/encodingFormat", MemoError.Missing),
        ["no filename"] = (d => d.At("/Message/MessageBody/AdditionalDocument/File/filename").Remove(), "/Message/MessageBody/AdditionalDocument[1]/File[1]/filename", MemoError.Missing),
        ["no language"] = (d => d.At("/Message/MessageBody/MainDocument/File/language").Remove(), "/Message/MessageBody/MainDocument/File[1]/language", MemoError.Missing),
        ["language of three letters"] = (d => d.At("/Message/MessageBody/MainDocument/File/language").Value = "dan", "/Message/MessageBody/MainDocument/File[1]/language", MemoError.Invalid),
        ["no content"] = (d => d.At("/Message/MessageBody/MainDocument/File/content").Remove(), "/Message/MessageBody/MainDocument/File[1]/content", MemoError.Missing),
        ["empty content"] = (d => d.At("/Message/MessageBody/MainDocument/File/content").Value = "", "/Message/MessageBody/MainDocument/File[1]/content", MemoError.Missing),
        ["content not base64"] = (d => d.At("/Message/MessageBody/MainDocument/File/content").Value = "!!!!", "/Message/MessageBody/MainDocument/File[1]/content", MemoError.Malformed),
        ["actionCode unknown"] = (d => d.At("/Message/MessageBody/MainDocument/Action/actionCode").Value = "BETAL", "/Message/MessageBody/MainDocument/Action[1]/actionCode", MemoError.Invalid),
        ["action without a label"] = (d => d.At("/Message/MessageBody/MainDocument/Action/label").Remove(), "/Message/MessageBody/MainDocument/Action[1]/label", MemoError.Missing),
        ["action without EntryPoint or Reservation"] = (d => d.At("/Message/MessageBody/MainDocument/Action/EntryPoint").Remove(),
            "/Message/MessageBody/MainDocument/Action[1]/EntryPoint", MemoError.Missing),
        ["EntryPoint url not a URL"] = (d => d.At("/Message/MessageBody/MainDocument/Action/EntryPoint/url").Value = "betaling", "/Message/MessageBody/MainDocument/Action[1]/EntryPoint/url", MemoError.Invalid),
        ["Reservation without description"] = (d => d.At("/Message/MessageBody/MainDocument/Action/EntryPoint").ReplaceWith(new XElement(M + "Reservation", new XElement(M + "location", "Rådhuset"))),
            "/Message/MessageBody/MainDocument/Action[1]/Reservation/description", MemoError.Missing),
        ["action ending before it starts"] = (d => d.At("/Message/MessageBody/MainDocument/Action/actionCode").AddAfterSelf(
            new XElement(M + "startDateTime", "2026-01-20T10:00:00Z"), new XElement(M + "endDateTime", "2026-01-20T09:00:00Z")),
            "/Message/MessageBody/MainDocument/Action[1]/endDateTime", MemoError.Invalid),
    };

    private static void To11(XDocument document)
    {
        document.Root!.SetAttributeValue("memoVersion", "1.1");
        document.Root.SetAttributeValue("memoSchVersion", "1.1.0");
    }

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task Each_error_names_its_XML_path_and_no_message_is_made(string change)
    {
        var (mutate, path, code) = Mutations[change];
        var document = Letter(Guid.NewGuid());
        mutate(document);

        var read = await Read(document);

        Assert.Null(read.Message);
        var error = Assert.Single(read.Errors);
        Assert.Equal((path, code), (error.Path, error.Code));
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public async Task A_document_cut_off_is_malformed_at_the_element_it_ends_in()
    {
        var xml = Letter(Guid.NewGuid()).Xml();
        var cut = Encoding.UTF8.GetBytes(xml[..xml.IndexOf("<memo:Recipient>", StringComparison.Ordinal)]);

        var error = Assert.Single((await Read(cut)).Errors);

        Assert.StartsWith("/Message/MessageHeader", error.Path);
        Assert.Equal(MemoError.Malformed, error.Code);
        Assert.Contains("line 1", error.Message);
    }

    [Fact]
    public async Task A_messageUUID_other_than_the_one_the_request_names_is_refused()
    {
        var expected = Guid.NewGuid();
        var error = Assert.Single((await Read(Letter(Guid.NewGuid()), expected)).Errors);
        Assert.Equal(("/Message/MessageHeader/messageUUID", MemoError.Invalid), (error.Path, error.Code));
    }

    [Fact]
    public async Task A_rejected_value_never_shows_a_CPR_number_in_clear()
    {
        var document = Letter(Guid.NewGuid());
        document.At("/Message/MessageHeader/messageType").Value = "0101901234";
        document.At("/Message/MessageHeader/Recipient/idType").Value = "CPR";
        document.At("/Message/MessageHeader/Recipient/recipientID").Value = "3102901234";

        var read = await Read(document);

        Assert.Equal("010190-XXXX", read.Errors.Single(e => e.Path.EndsWith("messageType")).RejectedValue);
        var recipient = read.Errors.Single(e => e.Path.EndsWith("recipientID"));
        Assert.Null(recipient.RejectedValue);
        Assert.DoesNotContain("3102901234", recipient.Message);
    }

    [Fact]
    public async Task Several_MeMos_written_as_a_tar_lzma_are_read_back_in_order()
    {
        var documents = Enumerable.Range(0, 3).Select(i => ($"memo-{i}.xml", Letter(Guid.NewGuid()).Bytes())).ToList();
        using var archive = new MemoryStream();
        await MemoArchive.Write(archive, documents.Select(d => (d.Item1, (Func<Stream>)(() => new MemoryStream(d.Item2)))));
        archive.Position = 0;

        var read = new List<(string, byte[])>();
        await MemoArchive.ReadEach(archive, async (name, content) =>
        {
            using var copy = new MemoryStream();
            await content.CopyToAsync(copy);
            read.Add((name, copy.ToArray()));
        });

        Assert.Equal(documents.Select(d => d.Item1), read.Select(r => r.Item1));
        Assert.All(documents.Zip(read), pair => Assert.Equal(pair.First.Item2, pair.Second.Item2));
    }

    [Theory]
    [InlineData("lzma")]
    [InlineData("xz")]
    public async Task An_archive_made_by_tar_and_xz_is_read(string format)
    {
        var folder = Directory.CreateTempSubdirectory("memo-tar-");
        try
        {
            var documents = Enumerable.Range(0, 2).Select(i => ($"memo-{i}.xml", Letter(Guid.NewGuid()).Bytes())).ToList();
            foreach (var (name, bytes) in documents) await System.IO.File.WriteAllBytesAsync(Path.Combine(folder.FullName, name), bytes);
            var archive = Path.Combine(folder.FullName, "memos.tar.lzma");
            using (var tool = System.Diagnostics.Process.Start("sh", ["-c", $"tar -cf - -C '{folder.FullName}' memo-0.xml memo-1.xml | xz --format={format} > '{archive}'"]))
            {
                await tool.WaitForExitAsync();
                Assert.Equal(0, tool.ExitCode);
            }

            var read = new List<(string, byte[])>();
            await using var stream = System.IO.File.OpenRead(archive);
            await MemoArchive.ReadEach(stream, async (name, content) =>
            {
                using var copy = new MemoryStream();
                await content.CopyToAsync(copy);
                read.Add((name, copy.ToArray()));
            });

            Assert.Equal(documents.Select(d => d.Item1), read.Select(r => r.Item1));
            Assert.All(documents.Zip(read), pair => Assert.Equal(pair.First.Item2, pair.Second.Item2));
        }
        finally { folder.Delete(recursive: true); }
    }

    [Fact]
    public async Task A_body_that_is_not_a_tar_lzma_is_refused_as_such()
    {
        await Assert.ThrowsAsync<InvalidDataException>(() => MemoArchive.ReadEach(new MemoryStream(new byte[64]), (_, _) => Task.CompletedTask));
        await Assert.ThrowsAsync<InvalidDataException>(() => MemoArchive.ReadEach(new MemoryStream(new byte[5]), (_, _) => Task.CompletedTask));
    }

    [Fact]
    public async Task A_DTD_is_refused_so_no_entity_can_expand()
    {
        var xml = "<?xml version=\"1.0\"?><!DOCTYPE lol [<!ENTITY a \"aaaaaaaaaa\">]>" + Letter(Guid.NewGuid()).Root!.ToString(SaveOptions.DisableFormatting);
        var error = Assert.Single((await Read(Encoding.UTF8.GetBytes(xml))).Errors);
        Assert.Equal(MemoError.Malformed, error.Code);
    }
}

/// <summary>Documents of about 99.5 MB, read and written with the memory of a few buffers. Alone in their collection:
/// the allocation counter is the process's.</summary>
[Collection(LargeMemoTests.Name)]
public class LargeMemoTests
{
    public const string Name = "Large MeMo documents";

    private static async Task<(long Length, string Sha256)> Hash(DocumentKey key, Stream content, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var length = await DocumentStreams.ReadToEnd(content, hash, cancellationToken);
        return (length, DocumentStreams.Hex(hash));
    }

    [Fact]
    public async Task A_document_just_under_the_limit_streams_its_file_with_bounded_memory()
    {
        var uuid = Guid.NewGuid();
        // 99,000,000 characters of base64 inside a document under 99,500,000 bytes.
        await using var document = MemoSamples.Generated(uuid, 99_000_000);
        Assert.True(document.Length < Memo.MaxBytes);
        var before = GC.GetTotalAllocatedBytes(precise: true);

        var read = await MemoReader.Read(document, Hash);

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Empty(read.Errors);
        Assert.Equal(99_000_000L / 4 * 3, read.Message!.Body.MainDocument.Files[0].Length);
        Assert.True(allocated < 16_000_000, $"reading allocated {allocated:N0} bytes for a document of {document.Length:N0}");

        // And written out again from a source that makes the bytes as they are read.
        var message = MessageDocuments.MapFiles(read.Message, (_, file) => file with { Content = [] });
        before = GC.GetTotalAllocatedBytes(precise: true);
        var output = new CountingStream();
        await MemoWriter.Write(output, message, new MemoExtras(), (_, file, _) => Task.FromResult<Stream?>(new PatternStream(file.Length!.Value)));
        allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.True(output.Written > 99_000_000, $"wrote {output.Written:N0} bytes");
        Assert.True(allocated < 16_000_000, $"writing allocated {allocated:N0} bytes for a document of {output.Written:N0}");
    }

    [Fact]
    public async Task A_document_over_the_limit_is_refused_with_the_limit_as_it_arrives()
    {
        await using var document = MemoSamples.Generated(Guid.NewGuid(), 100_000_000);

        var read = await MemoReader.Read(document, Hash);

        var error = Assert.Single(read.Errors);
        Assert.Equal(("/Message", MemoError.TooLarge), (error.Path, error.Code));
        Assert.Contains("99,500,000 bytes", error.Message);
        Assert.True(read.IsTooLarge);
        // Cut off at the limit, not read to its end.
        Assert.InRange(read.Bytes, Memo.MaxBytes, Memo.MaxBytes + 1_000_000);
    }

    private sealed class CountingStream : Stream
    {
        public long Written { get; private set; }
        public override void Write(byte[] buffer, int offset, int count) => Written += count;
        public override void Write(ReadOnlySpan<byte> buffer) => Written += buffer.Length;
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written += buffer.Length;
            return ValueTask.CompletedTask;
        }
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Written += count;
            return Task.CompletedTask;
        }
        public override void Flush() { }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private sealed class PatternStream(long length) : Stream
    {
        private long _position;
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            buffer.AsSpan(offset, n).Fill((byte)'A');
            _position += n;
            return n;
        }
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = (int)Math.Min(buffer.Length, length - _position);
            buffer.Span[..n].Fill((byte)'A');
            _position += n;
            return ValueTask.FromResult(n);
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

[CollectionDefinition(LargeMemoTests.Name, DisableParallelization = true)]
public class LargeMemoCollection;
