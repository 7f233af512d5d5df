using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DigitalPost.Contracts;

namespace DigitalPost.LoadGen.Messages;

/// <summary>A message with one file as <c>multipart/form-data</c> (the part <c>message</c>, then the part
/// <c>documents/0/files/0</c>) whose file is generated while the body is sent: a request of an exact size, as large as
/// Digital Post takes, that is never held in memory. The bytes are pseudo-random with each 64 KiB block numbered, so a
/// piece stored or read out of order changes their hash.</summary>
public sealed class GeneratedMessageContent : HttpContent
{
    private const int Block = 64 * 1024;

    private readonly byte[] _head;
    private readonly byte[] _tail;
    private readonly int _seed;

    /// <param name="message">A message whose main document has one file, without content.</param>
    /// <param name="requestBytes">The size of the whole request body; the file is what the parts' framing leaves.</param>
    public GeneratedMessageContent(Message message, long requestBytes, int seed = 1)
    {
        _seed = seed;
        var file = message.Body.MainDocument.Files.Single();
        var boundary = "dp-" + Guid.NewGuid().ToString("N");
        _head = Encoding.UTF8.GetBytes(
            $"--{boundary}\r\nContent-Disposition: form-data; name=\"message\"\r\nContent-Type: application/json\r\n\r\n" +
            JsonSerializer.Serialize(message, PlatformJson.Options) +
            $"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"documents/0/files/0\"; filename=\"{file.Filename}\"\r\n" +
            $"Content-Type: {file.EncodingFormat}\r\n\r\n");
        _tail = Encoding.UTF8.GetBytes($"\r\n--{boundary}--\r\n");
        FileBytes = requestBytes - _head.Length - _tail.Length;
        if (FileBytes < 0) throw new ArgumentOutOfRangeException(nameof(requestBytes), requestBytes, $"the parts' framing alone is {_head.Length + _tail.Length} bytes");
        Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={boundary}");
    }

    /// <summary>The generated file's size.</summary>
    public long FileBytes { get; }

    /// <summary>SHA-256 (hex) of the generated file, known once the body has been sent.</summary>
    public string? Sha256 { get; private set; }

    protected override bool TryComputeLength(out long length)
    {
        length = _head.Length + FileBytes + _tail.Length;
        return true;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(_head, cancellationToken);
        var block = new byte[Block];
        new Random(_seed).NextBytes(block);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long written = 0, number = 0; written < FileBytes; number++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(block, number);
            var count = (int)Math.Min(Block, FileBytes - written);
            hash.AppendData(block, 0, count);
            await stream.WriteAsync(block.AsMemory(0, count), cancellationToken);
            written += count;
        }
        await stream.WriteAsync(_tail, cancellationToken);
        Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
