using System.Buffers.Binary;
using DigitalPost.Infrastructure;
using SharpCompress.Common;
using SharpCompress.Compressors.LZMA;
using SharpCompress.Readers;
using SharpCompress.Writers.Tar;

namespace DigitalPost.Domain.Memo;

/// <summary>Several MeMo files in one upload, as NgDP takes them: a tar archive compressed with LZMA (the ".lzma"
/// format: 5 bytes of properties, the uncompressed size as 8 bytes little-endian or -1 for unknown, then the stream;
/// xz's container is read too, as tools that call xz for LZMA write it).</summary>
public static class MemoArchive
{
    private const int HeaderBytes = 13;

    /// <summary>Hands each file of the archive to <paramref name="take"/> as a stream, in the archive's order (directories
    /// are passed over). Throws <see cref="InvalidDataException"/> for a body that is not a tar.lzma.</summary>
    public static async Task ReadEach(Stream archive, Func<string, Stream, Task> take, CancellationToken cancellationToken = default)
    {
        var header = new byte[HeaderBytes];
        if (await archive.ReadAtLeastAsync(header, HeaderBytes, throwOnEndOfStream: false, cancellationToken) < HeaderBytes)
            throw new InvalidDataException("is shorter than an LZMA header (13 bytes)");
        if (header.AsSpan(0, XzMagic.Length).SequenceEqual(XzMagic))
        {
            // xz's own container, which "tar --lzma" writes where lzma is xz: the reader knows it as a compressed tar.
            await ReadTar(new PrefixedStream(header, archive), take, cancellationToken);
            return;
        }
        var size = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(5));
        Stream lzma;
        try { lzma = await LzmaStream.CreateAsync(header[..5], archive, -1, size, leaveOpen: true); }
        catch (Exception e) when (e is not OperationCanceledException) { throw new InvalidDataException("does not start with LZMA properties", e); }
        await using (lzma) await ReadTar(lzma, take, cancellationToken);
    }

    private static readonly byte[] XzMagic = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00];

    private static async Task ReadTar(Stream tarStream, Func<string, Stream, Task> take, CancellationToken cancellationToken)
    {
        IAsyncReader reader;
        try { reader = await ReaderFactory.OpenAsyncReader(tarStream, new ReaderOptions { LeaveStreamOpen = true }, cancellationToken); }
        catch (Exception e) when (e is not OperationCanceledException) { throw new InvalidDataException("is not a tar archive compressed with LZMA", e); }
        if (reader.Type != ArchiveType.Tar) throw new InvalidDataException("is an archive compressed with LZMA, but not a tar archive");
        while (await Next(reader, cancellationToken))
        {
            if (reader.Entry.IsDirectory) continue;
            await using var entry = await reader.OpenEntryStreamAsync(cancellationToken);
            await take(reader.Entry.Key ?? "", entry);
        }
    }

    private static async Task<bool> Next(IAsyncReader reader, CancellationToken cancellationToken)
    {
        try { return await reader.MoveToNextEntryAsync(cancellationToken); }
        catch (Exception e) when (e is not (OperationCanceledException or InvalidDataException)) { throw new InvalidDataException("is not a well-formed tar archive compressed with LZMA", e); }
    }

    /// <summary>Writes <paramref name="files"/> as a tar.lzma to <paramref name="output"/>, each file's bytes streamed.</summary>
    public static async Task Write(Stream output, IEnumerable<(string Name, Func<Stream> Open)> files, CancellationToken cancellationToken = default)
    {
        var header = new byte[HeaderBytes];
        // The size is not known beforehand: -1, and the stream ends with an end marker.
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(5), -1);
        var lzma = LzmaStream.Create(new LzmaEncoderProperties(eos: true), false, new HeaderFirst(output, header));
        lzma.Properties.AsSpan(0, 5).CopyTo(header);
        await using (lzma)
        {
            await using var tar = new TarWriter(lzma, new TarWriterOptions(CompressionType.None, finalizeArchiveOnClose: true) { LeaveStreamOpen = true });
            foreach (var (name, open) in files)
            {
                await using var content = open();
                await tar.WriteAsync(name, content, DateTime.UnixEpoch, content.CanSeek ? content.Length : null, cancellationToken);
            }
        }
        await output.FlushAsync(cancellationToken);
    }

    /// <summary>The bytes already read, then the rest of the stream.</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream rest) : ReadOnlyStream
    {
        private int _at;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_at == prefix.Length) return rest.Read(buffer);
            var n = Math.Min(buffer.Length, prefix.Length - _at);
            prefix.AsSpan(_at, n).CopyTo(buffer);
            _at += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_at == prefix.Length) return await rest.ReadAsync(buffer, cancellationToken);
            return Read(buffer.Span);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <summary>Writes the header (filled in once the encoder's properties are known) before the first compressed byte.</summary>
    private sealed class HeaderFirst(Stream inner, byte[] header) : Stream
    {
        private bool _headerWritten;

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (!_headerWritten)
            {
                inner.Write(header);
                _headerWritten = true;
            }
            inner.Write(buffer);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_headerWritten)
            {
                await inner.WriteAsync(header, cancellationToken);
                _headerWritten = true;
            }
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
