using System.Text;
using System.Xml.Linq;
using DigitalPost.Domain.Memo;

namespace DigitalPost.Tests.Support;

/// <summary>MeMo documents of the tests' own, written from MeMo's structure: a letter with every part the platform
/// maps, to be bent one element at a time.</summary>
internal static class MemoSamples
{
    public static readonly XNamespace M = Memo.Namespace;
    public const string AlphaCvr = "29189846";
    public const string CompanyCvr = "12345674";

    public static readonly byte[] Pdf = Encoding.ASCII.GetBytes("%PDF-1.4\n% a letter of the tests' own\n%%EOF\n");
    public static readonly byte[] Drawings = TestBytes.Random(5_000, seed: 42);

    /// <summary>A MeMo 1.2 letter (or 1.1, which names its schema version and needs mandatory and legalNotification).</summary>
    public static XDocument Letter(Guid uuid, string version = "1.2", string sender = AlphaCvr, string recipient = CompanyCvr, string recipientType = "CVR",
        string? contactPoint = null) => new(new XDeclaration("1.0", "utf-8", null),
        new XElement(M + "Message", new XAttribute(XNamespace.Xmlns + "memo", M), new XAttribute("memoVersion", version),
            version == "1.1" ? new XAttribute("memoSchVersion", "1.1.0") : null,
            new XElement(M + "MessageHeader",
                new XElement(M + "messageType", "DIGITALPOST"),
                new XElement(M + "messageUUID", uuid),
                new XElement(M + "messageID", "BYG-2026-0042"),
                new XElement(M + "label", "Afgørelse om byggetilladelse"),
                new XElement(M + "notification", "Du har fået svar på din ansøgning"),
                new XElement(M + "mandatory", "false"),
                new XElement(M + "legalNotification", "true"),
                new XElement(M + "Sender",
                    new XElement(M + "senderID", sender),
                    new XElement(M + "idType", "CVR"),
                    new XElement(M + "label", "Alfa Kommune")),
                new XElement(M + "Recipient",
                    new XElement(M + "recipientID", recipient),
                    new XElement(M + "idType", recipientType),
                    new XElement(M + "label", "Eksempel A/S"),
                    contactPoint is null ? null : new XElement(M + "ContactPoint", new XElement(M + "contactPointID", contactPoint))),
                new XElement(M + "ContentData",
                    new XElement(M + "CaseID", new XElement(M + "caseID", "BYG-7"), new XElement(M + "caseSystem", "ESDH")))),
            new XElement(M + "MessageBody",
                new XElement(M + "createdDateTime", "2026-01-05T07:30:00Z"),
                new XElement(M + "MainDocument",
                    new XElement(M + "label", "Afgørelse"),
                    File("afgoerelse.pdf", "application/pdf", Pdf),
                    new XElement(M + "Action",
                        new XElement(M + "label", "Betal gebyret"),
                        new XElement(M + "actionCode", "BETALING"),
                        new XElement(M + "EntryPoint", new XElement(M + "url", "https://betaling.example.dk/byg-7")))),
                new XElement(M + "AdditionalDocument",
                    new XElement(M + "label", "Tegninger"),
                    File("tegninger.bin", "application/octet-stream", Drawings)))));

    public static XElement File(string filename, string format, byte[] content) => new(M + "File",
        new XElement(M + "encodingFormat", format),
        new XElement(M + "filename", filename),
        new XElement(M + "language", "da"),
        new XElement(M + "content", Convert.ToBase64String(content)));

    public static string Xml(this XDocument document) => document.Declaration + document.ToString(SaveOptions.DisableFormatting);

    public static byte[] Bytes(this XDocument document) => Encoding.UTF8.GetBytes(document.Xml());

    /// <summary>The element at <paramref name="path"/> (such as <c>/Message/MessageHeader/Sender/senderID</c>; a step may
    /// carry a 1-based index, <c>File[2]</c>).</summary>
    public static XElement At(this XDocument document, string path)
    {
        XElement? current = null;
        foreach (var step in path.Trim('/').Split('/'))
        {
            var bracket = step.IndexOf('[');
            var (name, index) = bracket < 0 ? (step, 1) : (step[..bracket], int.Parse(step[(bracket + 1)..^1]));
            var candidates = current is null ? [document.Root!] : current.Elements(M + name);
            current = candidates.Where(e => e.Name == M + name).ElementAt(index - 1);
        }
        return current!;
    }

    /// <summary>A MeMo of about <paramref name="contentBytes"/> bytes of base64 in one file, made as it is read: nothing
    /// of it is ever whole in memory.</summary>
    public static Stream Generated(Guid uuid, long contentBytes)
    {
        var document = Letter(uuid);
        document.At("/Message/MessageBody/AdditionalDocument").Remove();
        document.At("/Message/MessageBody/MainDocument/File/content").Value = "SPLIT";
        var xml = document.Xml();
        var split = xml.IndexOf("SPLIT", StringComparison.Ordinal);
        return new GeneratedStream(Encoding.UTF8.GetBytes(xml[..split]), contentBytes / 4 * 4, Encoding.UTF8.GetBytes(xml[(split + 5)..]));
    }

    private sealed class GeneratedStream(byte[] prefix, long base64Bytes, byte[] suffix) : Stream
    {
        private long _position;
        private long Total => prefix.Length + base64Bytes + suffix.Length;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var written = 0;
            while (written < buffer.Length && _position < Total)
            {
                var target = buffer[written..];
                int n;
                if (_position < prefix.Length)
                {
                    n = Math.Min(target.Length, prefix.Length - (int)_position);
                    prefix.AsSpan((int)_position, n).CopyTo(target);
                }
                else if (_position < prefix.Length + base64Bytes)
                {
                    n = (int)Math.Min(target.Length, prefix.Length + base64Bytes - _position);
                    // "QUJD" is "ABC": four characters, three bytes.
                    for (var i = 0; i < n; i++) target[i] = (byte)"QUJD"[(int)((_position - prefix.Length + i) % 4)];
                }
                else
                {
                    var at = (int)(_position - prefix.Length - base64Bytes);
                    n = Math.Min(target.Length, suffix.Length - at);
                    suffix.AsSpan(at, n).CopyTo(target);
                }
                written += n;
                _position += n;
            }
            return written;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => Total;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
