using System.Security.Cryptography;
using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Domain.Memo;
using DigitalPost.Infrastructure;
using DigitalPost.Tests.Support;
using Microsoft.AspNetCore.WebUtilities;

namespace DigitalPost.Tests.Unit;

/// <summary>What a REST_PUSH receiver system gets: the platform's message as a MeMo, read back with the MeMo reader.</summary>
public sealed class MemoPushTests
{
    private static readonly DateTimeOffset PushedAt = new(2026, 12, 2, 9, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_merge_letter_maps_to_a_MeMo_that_reads_back_to_the_same_fields()
    {
        var uuid = Guid.NewGuid();
        var valoer = new DateTimeOffset(2026, 12, 10, 0, 0, 0, TimeSpan.Zero);
        var ends = new DateTimeOffset(2027, 1, 31, 12, 0, 0, TimeSpan.Zero);
        var pay = new DocumentAction(ActionCode.Betaling, "Betal her", new Uri("https://betaling.example.dk/skat"), EndDateTime: ends);
        var meet = new DocumentAction(ActionCode.Aftale, "Mød op", Reservation: "Borgerservice, Rådhuset", EndDateTime: ends);
        var letter = new Message(
            new MessageHeader(uuid, "Opkrævning", new Sender(TestMessages.Cvr, "Testkommune"), new Recipient("25000005", RecipientIdType.Cvr, "cp-b", "Virksomhed ApS"),
                Reply: true, DoNotDeliverUntilDate: valoer, ContentData: new ContentData(CaseId: "SAG-1", KleNumber: "25.02.00")),
            new MessageBody(
                new Document("Opkrævning", [new DocumentFile("brev.pdf", "application/pdf", [], Location: LetterFactory.DocumentLocation(uuid))], [pay, meet]),
                [new Document("Bilag", [new DocumentFile("bilag.pdf", "application/pdf", TestBytes.Random(1000, seed: 2))])]));
        var pdf = TestBytes.Random(40_000, seed: 1);

        Assert.True(MemoMapping.NeedsLetterPdf(letter));
        var mapped = MemoMapping.WithLetterPdf(letter, pdf);
        Assert.False(MemoMapping.NeedsLetterPdf(mapped));
        var (read, files) = await ReadBack(await MemoPushContent.Create(mapped, MemoMapping.Extras(PushedAt), new MemoryDocumentStore()));

        Assert.True(read.IsValid, string.Join("; ", read.Errors.Select(e => $"{e.Path} {e.Message}")));
        Assert.Equal((MemoMapping.DefaultVersion, PushedAt), (read.MemoVersion, read.CreatedDateTime));
        var header = read.Message!.Header;
        Assert.Equal((uuid, "Opkrævning", TestMessages.Cvr, "25000005", "cp-b", "Virksomhed ApS"),
            (header.MessageUuid, header.Label, header.Sender.SenderId, header.Recipient.RecipientId, header.Recipient.ContactPointId, header.Recipient.Label));
        Assert.True(header.Reply);
        Assert.Equal(valoer, header.DoNotDeliverUntilDate);
        Assert.Equal(("SAG-1", "25.02.00"), (header.ContentData?.CaseId, header.ContentData?.KleNumber));
        var main = read.Message.Body.MainDocument;
        Assert.Equal([(ActionCode.Betaling, "Betal her", (Uri?)pay.EntryPoint, (string?)null, (DateTimeOffset?)ends), (ActionCode.Aftale, "Mød op", null, "Borgerservice, Rådhuset", ends)],
            main.Actions!.Select(a => (a.ActionCode, a.Label, a.EntryPoint, a.Reservation, a.EndDateTime)));
        Assert.Equal("brev.pdf", Assert.Single(main.Files).Filename);
        Assert.Equal("bilag.pdf", Assert.Single(Assert.Single(read.Message.Body.AdditionalDocuments!).Files).Filename);
        Assert.Equal([TestBytes.Sha256(pdf), TestBytes.Sha256(letter.Body.AdditionalDocuments![0].Files[0].Content)], files);
    }

    [Fact]
    public async Task A_letter_named_only_by_its_location_is_not_written_without_its_PDF()
    {
        var uuid = Guid.NewGuid();
        var letter = TestMessages.Valid(uuid).WithMainDocument(d => d with { Files = [new DocumentFile("brev.pdf", "application/pdf", [], Location: LetterFactory.DocumentLocation(uuid))] });

        await Assert.ThrowsAsync<InvalidOperationException>(() => MemoPushContent.Create(letter, MemoMapping.Extras(PushedAt), new MemoryDocumentStore()));
    }

    [Fact]
    public async Task A_stored_5_MB_document_goes_inside_the_MeMo_with_the_length_said_beforehand_read_from_the_store_as_it_is_sent()
    {
        var store = new CountingStore(new MemoryDocumentStore());
        var bytes = TestBytes.Random(5 * 1024 * 1024, seed: 5);
        var message = await PushContentTests.Store(store, TestMessages.Valid().WithMainDocument(d => d with { Files = [new DocumentFile("stort.pdf", "application/pdf", bytes)] }), (0, 0));
        Assert.Empty(message.Body.MainDocument.Files[0].Content);

        using var memo = await MemoPushContent.Create(message, MemoMapping.Extras(PushedAt), store);
        Assert.Equal(0, store.Read);
        var length = memo.Headers.ContentLength;
        var sent = new WatchedStream(() => store.Read);
        await memo.CopyToAsync(sent);

        Assert.Equal(sent.Length, length);
        // The file went out while it was read: a megabyte of MeMo was on the wire before half the file was read.
        Assert.True(sent.ReadWhenPast(1024 * 1024) < bytes.Length / 2, $"{sent.ReadWhenPast(1024 * 1024)} bytes of the file were read before the first megabyte went out");
        var (read, files) = await ReadBack(sent.ToArray());
        Assert.True(read.IsValid);
        Assert.Equal([TestBytes.Sha256(bytes)], files);
    }

    [Fact]
    public async Task Several_MeMos_go_as_multipart_mixed_each_part_with_its_length_and_the_push_with_its_total()
    {
        var store = new MemoryDocumentStore();
        var first = TestMessages.Valid();
        var second = await PushContentTests.Store(store, TestMessages.Valid().WithMainDocument(d => d with { Files = [new DocumentFile("a.pdf", "application/pdf", TestBytes.Random(70_001, seed: 3))] }), (0, 0));

        using var push = MemoPushContent.Multipart([await MemoPushContent.Create(first, MemoMapping.Extras(PushedAt), store), await MemoPushContent.Create(second, MemoMapping.Extras(PushedAt), store)]);
        var body = await push.ReadAsByteArrayAsync();

        Assert.Equal("multipart/mixed", push.Headers.ContentType?.MediaType);
        Assert.Equal(body.Length, push.Headers.ContentLength);
        var reader = new MultipartReader(push.Headers.ContentType!.Parameters.Single(p => p.Name == "boundary").Value!.Trim('"'), new MemoryStream(body));
        var uuids = new List<Guid>();
        for (var section = await reader.ReadNextSectionAsync(); section is not null; section = await reader.ReadNextSectionAsync())
        {
            Assert.StartsWith(MemoPushContent.MediaType, section.ContentType);
            using var part = new MemoryStream();
            await section.Body.CopyToAsync(part);
            Assert.Equal(part.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(section.Headers!["Content-Length"]));
            var (read, _) = await ReadBack(part.ToArray());
            uuids.Add(read.Message!.Header.MessageUuid);
        }
        Assert.Equal([first.Header.MessageUuid, second.Header.MessageUuid], uuids);
    }

    private static async Task<(MemoRead Read, List<string> Files)> ReadBack(HttpContent memo) => await ReadBack(await memo.ReadAsByteArrayAsync());

    private static async Task<(MemoRead Read, List<string> Files)> ReadBack(byte[] memo)
    {
        var files = new List<string>();
        var read = await MemoReader.Read(new MemoryStream(memo), async (_, content, cancellationToken) =>
        {
            using var copy = new MemoryStream();
            await content.CopyToAsync(copy, cancellationToken);
            files.Add(TestBytes.Sha256(copy.ToArray()));
            return (copy.Length, files[^1]);
        });
        return (read, files);
    }

    /// <summary>A document store that counts the bytes read from it.</summary>
    private sealed class CountingStore(IDocumentStore inner) : IDocumentStore
    {
        private long _read;
        public long Read => Interlocked.Read(ref _read);

        public Task<DocumentPut> Put(DocumentKey key, Stream content, CancellationToken cancellationToken = default) => inner.Put(key, content, cancellationToken);
        public Task<StoredDocument?> Find(DocumentKey key, CancellationToken cancellationToken = default) => inner.Find(key, cancellationToken);
        public Task<int> Delete(Guid messageUuid, CancellationToken cancellationToken = default) => inner.Delete(messageUuid, cancellationToken);
        public Task<int> DeleteAll(IReadOnlyList<Guid> messageUuids) => inner.DeleteAll(messageUuids);

        public async Task<Stream?> Open(DocumentKey key, CancellationToken cancellationToken = default) =>
            await inner.Open(key, cancellationToken) is { } stream ? new Counted(stream, n => Interlocked.Add(ref _read, n)) : null;

        private sealed class Counted(Stream inner, Action<int> count) : ReadOnlyStream
        {
            public override int Read(byte[] buffer, int offset, int count) => Counting(inner.Read(buffer, offset, count));
            public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => Counting(await inner.ReadAsync(buffer, cancellationToken));
            protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }

            private int Counting(int read)
            {
                count(read);
                return read;
            }
        }
    }

    /// <summary>Where a push is written: notes how much of the file had been read when the output passed a size.</summary>
    private sealed class WatchedStream(Func<long> read) : Stream
    {
        private readonly MemoryStream _written = new();
        private readonly List<(long Written, long Read)> _marks = [];

        public long ReadWhenPast(long written) => _marks.First(m => m.Written > written).Read;
        public byte[] ToArray() => _written.ToArray();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written.Length;
        public override long Position { get => _written.Length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            _written.Write(buffer, offset, count);
            _marks.Add((_written.Length, read()));
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.ToArray(), 0, buffer.Length);
            return ValueTask.CompletedTask;
        }
    }
}
