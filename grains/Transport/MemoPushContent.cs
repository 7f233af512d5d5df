using System.Net;
using System.Net.Http.Headers;
using DigitalPost.Contracts;
using DigitalPost.Domain.Memo;

namespace DigitalPost.Infrastructure;

/// <summary>One message as a MeMo (<c>application/xml</c>), for a receiver system registered for <c>REST_PUSH</c>.
/// The document is written by <see cref="MemoWriter"/> once, with every file in the document store left empty; while the
/// body is sent, each such file's base64 is written from the store a block at a time into its place. So a stored file is
/// never whole in the silo's memory, and as base64 is 4 bytes per 3, the length is known before sending: the MeMo goes
/// with a Content-Length, alone or as a part of a multipart push (<see cref="Multipart"/>).</summary>
public sealed class MemoPushContent : HttpContent
{
    public const string MediaType = "application/xml";

    /// <summary>An empty <c>content</c> element, as <see cref="System.Xml.XmlWriter"/> writes it: where a file is written
    /// from the store. Text in the document is escaped, so it can only be an element; which file's it is goes by order,
    /// as the writer asks for the files (a file that is empty in truth stays so).</summary>
    private static readonly byte[] Empty = "<memo:content />"u8.ToArray();
    private static readonly byte[] Open = "<memo:content>"u8.ToArray();
    private static readonly byte[] Close = "</memo:content>"u8.ToArray();

    private readonly IDocumentStore _documents;
    private readonly byte[] _xml;
    /// <summary>Where each stored file's empty element is in <see cref="_xml"/>, and the file that goes there.</summary>
    private readonly IReadOnlyList<(int At, DocumentKey Key, long Length)> _files;

    private MemoPushContent(IDocumentStore documents, byte[] xml, IReadOnlyList<(int, DocumentKey, long)> files)
    {
        (_documents, _xml, _files) = (documents, xml, files);
        Headers.ContentType = new MediaTypeHeaderValue(MediaType) { CharSet = "utf-8" };
        // Set, not only computed: a multipart push writes each part's headers, and a part's Content-Length is one.
        Headers.ContentLength = Length;
    }

    /// <summary>The MeMo of <paramref name="message"/>, whose files are carried or in <paramref name="documents"/>.</summary>
    public static async Task<MemoPushContent> Create(Message message, MemoExtras extras, IDocumentStore documents, CancellationToken cancellationToken = default)
    {
        var asked = new List<(DocumentKey Key, DocumentFile File)>();
        // Sized for the carried files' base64 and the markup around them, so the buffer is not regrown and copied.
        using var buffer = new MemoryStream(checked((int)MessageDocuments.Files(message).Sum(f => PushContent.Base64Length(f.File.Content.Length) + 1024) + 4096));
        await MemoWriter.Write(buffer, message, extras, (key, file, _) =>
        {
            if (!file.IsStored() && file.Content.Length == 0 && file.Location is not null)
                throw new InvalidOperationException($"The file {key.PartName()} of message {key.MessageUuid} is named by its location only, which a MeMo cannot carry.");
            asked.Add((key, file));
            return Task.FromResult<Stream?>(Stream.Null);
        }, cancellationToken);
        var xml = buffer.ToArray();
        var files = new List<(int, DocumentKey, long)>();
        var from = 0;
        foreach (var (key, file) in asked)
        {
            var at = xml.AsSpan(from).IndexOf(Empty) + from;
            if (at < from) throw new InvalidOperationException($"The MeMo of message {key.MessageUuid} has no place for its file {key.PartName()}.");
            if (file.IsStored()) files.Add((at, key, file.Length ?? 0));
            from = at + Empty.Length;
        }
        return new MemoPushContent(documents, xml, files);
    }

    /// <summary>Several MeMos in one push, to a system that takes several: <c>multipart/mixed</c>, one
    /// <c>application/xml</c> part per MeMo with its own Content-Length, and the push's Content-Length in all.</summary>
    public static MultipartContent Multipart(IEnumerable<MemoPushContent> memos)
    {
        var multipart = new MultipartContent("mixed");
        foreach (var memo in memos) multipart.Add(memo);
        return multipart;
    }

    private long Length
    {
        get
        {
            long length = _xml.Length;
            foreach (var (_, _, bytes) in _files) length += Open.Length + PushContent.Base64Length(bytes) + Close.Length - Empty.Length;
            return length;
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = Length;
        return true;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var from = 0;
        foreach (var (at, key, length) in _files)
        {
            await stream.WriteAsync(_xml.AsMemory(from, at - from), cancellationToken);
            await stream.WriteAsync(Open, cancellationToken);
            await PushContent.WriteBase64(_documents, key, length, stream, cancellationToken);
            await stream.WriteAsync(Close, cancellationToken);
            from = at + Empty.Length;
        }
        await stream.WriteAsync(_xml.AsMemory(from), cancellationToken);
    }
}
