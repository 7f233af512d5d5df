using DigitalPost.Contracts;
using DigitalPost.Domain.Memo;
using DigitalPost.Infrastructure;

namespace DigitalPost.Ngdp;

/// <summary>The MeMo (1.2) a pull system fetches for a waiting message: the message as <see cref="MemoWriter"/> writes
/// it, its stored documents streamed from the document store as base64 and a merge letter's PDF rendered as it is
/// opened. The length is counted first by writing it with stored documents as zeros of their length (base64 does not
/// depend on the bytes), so the answer has a Content-Length and no document is ever whole in memory.</summary>
public sealed class PullMemo(PullEntry entry, IDocumentStore documents, IGrainFactory grains)
{
    private readonly MemoExtras _extras = new(CreatedDateTime: entry.AvailableAt);
    /// <summary>A merge letter's PDF: rendered once for both the count and the answer.</summary>
    private byte[]? _letterPdf;

    public async Task<long> Length(CancellationToken cancellationToken)
    {
        await using var counter = new CountingStream();
        await MemoWriter.Write(counter, entry.Message, _extras,
            (key, file, ct) => file.IsStored() ? Task.FromResult<Stream?>(new ZeroStream(file.Length ?? 0)) : Open(key, file, ct), cancellationToken);
        return counter.Written;
    }

    public Task WriteTo(Stream output, CancellationToken cancellationToken) => MemoWriter.Write(output, entry.Message, _extras, Open, cancellationToken);

    private async Task<Stream?> Open(DocumentKey key, DocumentFile file, CancellationToken cancellationToken)
    {
        if (file.IsStored()) return await documents.Open(key, cancellationToken);
        if (file.Location is null || entry.Message.Batch is not { } batch) return null;
        _letterPdf ??= (await grains.GetGrain<IMergeBatchGrain>(batch.BatchId).Preview(batch.Row))?.Pdf;
        return _letterPdf is null ? null : new MemoryStream(_letterPdf, writable: false);
    }

    /// <summary>Stands in for a stored document while the length is counted.</summary>
    private sealed class ZeroStream(long length) : ReadOnlyStream
    {
        private long _left = length;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, _left);
            buffer[..n].Clear();
            _left -= n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
    }

    private sealed class CountingStream : Stream
    {
        public long Written { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Written += count;
        public override void Write(ReadOnlySpan<byte> buffer) => Written += buffer.Length;
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Written += count;
            return Task.CompletedTask;
        }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written += buffer.Length;
            return ValueTask.CompletedTask;
        }
    }
}
