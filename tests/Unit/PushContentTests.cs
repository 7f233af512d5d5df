using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using DigitalPost.Tests.Support;

namespace DigitalPost.Tests.Unit;

public sealed class PushContentTests
{
    [Fact]
    public void Files_are_counted_main_document_first_then_additional_then_technical()
    {
        var message = Message([Carried("a"), Carried("b")], additional: [Carried("c")], technical: [Carried("d")]);

        Assert.Equal([(0, 0, "a"), (0, 1, "b"), (1, 0, "c"), (2, 0, "d")], MessageDocuments.Files(message).Select(f => (f.Key.Document, f.Key.File, f.File.Filename)));
        Assert.Equal(["body.mainDocument", "body.additionalDocuments[0]", "body.technicalDocuments[0]"], Enumerable.Range(0, 3).Select(d => MessageDocuments.PathOf(message.Body, d)));
        Assert.Equal("/api/messages/" + message.Header.MessageUuid + "/documents/2/files/0", new DocumentKey(message.Header.MessageUuid, 2, 0).ToLocation().ToString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3 * 64 * 1024)]
    [InlineData(2 * 3 * 64 * 1024 + 2)]
    public async Task A_stored_file_is_pushed_as_the_serializer_writes_it_carried_with_the_length_said_beforehand(int bytes)
    {
        var documents = new MemoryDocumentStore();
        var content = TestBytes.Random(bytes, seed: bytes);
        var inline = Message([Carried("brev.pdf", content)], additional: [Carried("bilag.pdf", TestBytes.Random(10, seed: 7))],
            technical: [new DocumentFile("brev.pdf", "application/pdf", [], Location: new Uri("/api/letters/x/document.pdf", UriKind.Relative))]);
        var stored = await Store(documents, inline, (0, 0));
        var envelope = new PushEnvelope(inline.Header.MessageUuid, "erp", 1, stored);

        using var push = new PushContent([envelope], asArray: false, documents);
        var body = await push.ReadAsByteArrayAsync();

        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(envelope with { Message = inline }, PlatformJson.Options), body);
        Assert.Equal(body.Length, push.Headers.ContentLength);
    }

    [Fact]
    public async Task Several_envelopes_go_as_an_array_each_with_its_stored_files()
    {
        var documents = new MemoryDocumentStore();
        var first = Message([Carried("a", TestBytes.Random(100_000, seed: 1)), Carried("b", TestBytes.Random(5, seed: 2))]);
        var second = Message([Carried("c", TestBytes.Random(70_001, seed: 3))]);
        var envelopes = new[]
        {
            new PushEnvelope(first.Header.MessageUuid, "erp", 1, await Store(documents, first, (0, 0), (0, 1))),
            new PushEnvelope(second.Header.MessageUuid, "erp", 2, await Store(documents, second, (0, 0))),
        };

        using var push = new PushContent(envelopes, asArray: true, documents);
        var body = await push.ReadAsByteArrayAsync();

        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(new[] { envelopes[0] with { Message = first }, envelopes[1] with { Message = second } }, PlatformJson.Options), body);
        Assert.Equal(body.Length, push.Headers.ContentLength);
    }

    /// <summary>The message as the intake leaves it: the named files in the store, the message holding references.</summary>
    internal static async Task<Message> Store(IDocumentStore documents, Message message, params (int Document, int File)[] files)
    {
        var references = new Dictionary<DocumentKey, DocumentFile>();
        foreach (var (key, file) in MessageDocuments.Files(message).Where(f => files.Contains((f.Key.Document, f.Key.File))))
        {
            var put = await documents.Put(key, new MemoryStream(file.Content));
            references[key] = file with { Content = [], Location = key.ToLocation(), Length = put.Length, Sha256 = put.Sha256 };
        }
        return MessageDocuments.MapFiles(message, (key, file) => references.GetValueOrDefault(key, file));
    }

    private static Message Message(IReadOnlyList<DocumentFile> main, IReadOnlyList<DocumentFile>? additional = null, IReadOnlyList<DocumentFile>? technical = null) =>
        TestMessages.Valid() with
        {
            Body = new MessageBody(new Document("Brev", main),
                additional is null ? null : [new Document("Bilag", additional)],
                technical is null ? null : [new Document("Data", technical)]),
        };

    private static DocumentFile Carried(string filename, byte[]? content = null) => new(filename, "application/pdf", content ?? [1, 2, 3]);
}
