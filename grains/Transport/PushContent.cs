using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DigitalPost.Contracts;

namespace DigitalPost.Infrastructure;

/// <summary>A push's body: the envelopes as JSON, exactly as the serializer writes them, except that each file in the
/// document store has its base64 <c>content</c> written from the store while the body is sent, a block at a time. So a
/// 99.5 MB letter is never whole in the silo's memory on its way out; and as base64 is 4 bytes per 3, the length is
/// known before sending, and the push goes with a Content-Length.</summary>
public sealed class PushContent : HttpContent
{
    /// <summary>A multiple of 3, so every block but the last encodes to base64 without padding.</summary>
    private const int Base64Block = 3 * 64 * 1024;

    /// <summary>Stands in the serialized JSON where a stored file's content goes: serialized JSON never holds a raw NUL.</summary>
    private const byte Marker = 0;

    private static readonly JsonSerializerOptions Json = new(PlatformJson.Options) { Converters = { new ContentConverter() } };

    /// <summary>The placeholder arrays that stand for stored files while envelopes are serialized, with the file each
    /// stands for: told apart by identity, so no content can be mistaken for one.</summary>
    private static readonly ConditionalWeakTable<byte[], object> Placeholders = new();

    private readonly IDocumentStore _documents;
    private readonly byte[] _json;
    /// <summary>Where each marker is in <see cref="_json"/> (from its first byte to past its last), and the file whose
    /// content replaces it.</summary>
    private readonly List<(int Start, int End, DocumentKey Key, long Length)> _files = [];

    /// <param name="asArray">A JSON array of envelopes (a system that takes several per push), else the one envelope.</param>
    public PushContent(IReadOnlyList<PushEnvelope> envelopes, bool asArray, IDocumentStore documents)
    {
        _documents = documents;
        var stored = new List<(DocumentKey Key, long Length)>();
        var placeholders = new List<byte[]>();
        try
        {
            var withPlaceholders = envelopes.Select(e => e with
            {
                Message = MessageDocuments.MapFiles(e.Message, (key, file) =>
                {
                    if (!file.IsStored()) return file;
                    var placeholder = new byte[1];
                    Placeholders.Add(placeholder, stored.Count);
                    placeholders.Add(placeholder);
                    stored.Add((key, file.Length ?? 0));
                    // The receiver gets the file as the sender sent it: its content, not the platform's reference.
                    return file with { Content = placeholder, Location = null, Length = null, Sha256 = null };
                }),
            }).ToList();
            _json = asArray ? JsonSerializer.SerializeToUtf8Bytes(withPlaceholders, Json) : JsonSerializer.SerializeToUtf8Bytes(withPlaceholders[0], Json);
        }
        finally
        {
            foreach (var placeholder in placeholders) Placeholders.Remove(placeholder);
        }
        for (var start = Array.IndexOf(_json, Marker); start >= 0; start = Array.IndexOf(_json, Marker, start + 1))
        {
            var end = Array.IndexOf(_json, Marker, start + 1) + 1;
            var (key, length) = stored[int.Parse(_json.AsSpan(start + 1, end - start - 2), CultureInfo.InvariantCulture)];
            _files.Add((start, end, key, length));
            start = end - 1;
        }
        Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _json.Length;
        foreach (var (start, end, _, bytes) in _files) length += Base64Length(bytes) - (end - start);
        return true;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var from = 0;
        foreach (var (start, end, key, length) in _files)
        {
            await stream.WriteAsync(_json.AsMemory(from, start - from), cancellationToken);
            await WriteBase64(_documents, key, length, stream, cancellationToken);
            from = end;
        }
        await stream.WriteAsync(_json.AsMemory(from), cancellationToken);
    }

    /// <summary>Writes the stored file's bytes to <paramref name="target"/> as base64, a block at a time; the file must
    /// have the <paramref name="length"/> its reference says, which the push's Content-Length was computed from.</summary>
    internal static async Task WriteBase64(IDocumentStore documents, DocumentKey key, long length, Stream target, CancellationToken cancellationToken)
    {
        await using var source = await documents.Open(key, cancellationToken)
            ?? throw new InvalidOperationException($"Document {key.PartName()} of message {key.MessageUuid} is not in the document store.");
        var input = ArrayPool<byte>.Shared.Rent(Base64Block);
        var output = ArrayPool<byte>.Shared.Rent(Base64Block / 3 * 4);
        try
        {
            long read = 0;
            while (true)
            {
                var block = await source.ReadAtLeastAsync(input.AsMemory(0, Base64Block), Base64Block, throwOnEndOfStream: false, cancellationToken);
                read += block;
                Base64.EncodeToUtf8(input.AsSpan(0, block), output, out _, out var written, isFinalBlock: true);
                await target.WriteAsync(output.AsMemory(0, written), cancellationToken);
                if (block < Base64Block) break;
            }
            // The Content-Length was promised from the reference: a store that disagrees must fail the push, not cut it.
            if (read != length) throw new InvalidOperationException($"Document {key.PartName()} of message {key.MessageUuid} has {read} bytes in the store; its reference says {length}.");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    internal static long Base64Length(long bytes) => (bytes + 2) / 3 * 4;

    /// <summary>Writes files' contents as base64, as the serializer would, and a placeholder's as a marker with the
    /// number of the file it stands for.</summary>
    private sealed class ContentConverter : JsonConverter<byte[]>
    {
        public override byte[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetBytesFromBase64();

        public override void Write(Utf8JsonWriter writer, byte[] value, JsonSerializerOptions options)
        {
            if (!Placeholders.TryGetValue(value, out var file))
            {
                writer.WriteBase64StringValue(value);
                return;
            }
            writer.WriteRawValue([(byte)'"', Marker, .. Encoding.ASCII.GetBytes(((int)file).ToString(CultureInfo.InvariantCulture)), Marker, (byte)'"'],
                skipInputValidation: true);
        }
    }
}
