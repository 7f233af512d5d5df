using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Npgsql;

namespace DigitalPost.Infrastructure;

/// <summary>
/// Rows encoded in PostgreSQL's binary COPY format and kept in memory, so that the same rows can be sent to one COPY
/// and, if that one fails, to another. Npgsql's own importer binds every value as a parameter and flushes every 8 KB
/// (each flush arming a timeout timer): loading millions of registry rows, that cost the silo more than reading and
/// checking the file did. A loaded chunk held as rows of objects also cost the garbage collector more than both, as
/// each object outlived several collections; held as these blocks of bytes it costs nothing to collect. Only the types
/// the registry's tables use are here.
/// </summary>
/// <remarks>The format: a signature, flags and header extension, then per row the number of fields and each field as
/// its length and bytes (big-endian), and -1 at the end (https://www.postgresql.org/docs/current/sql-copy.html).</remarks>
internal sealed class BinaryCopyRows : IDisposable
{
    private const int BlockBytes = 1 << 18;
    private const int TextOid = 25;
    private static readonly byte[] Header = [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0, 0, 0, 0, 0, 0, 0, 0, 0];
    private static readonly byte[] Trailer = [0xFF, 0xFF];

    private readonly List<(byte[] Block, int Length)> _full = [];
    private byte[] _block = ArrayPool<byte>.Shared.Rent(BlockBytes);
    private int _length;

    public int Count { get; private set; }

    /// <summary>Starts a row of <paramref name="fields"/> fields that take at most <paramref name="maxBytes"/> bytes
    /// (see <see cref="MaxBytes(string)"/>).</summary>
    public void StartRow(short fields, int maxBytes)
    {
        var needed = 2 + maxBytes;
        if (_length + needed > _block.Length)
        {
            _full.Add((_block, _length));
            (_block, _length) = (ArrayPool<byte>.Shared.Rent(Math.Max(BlockBytes, needed)), 0);
        }
        Int16Raw(fields);
        Count++;
    }

    /// <summary>The most bytes a text field takes.</summary>
    public static int MaxBytes(string? value) => 4 + Encoding.UTF8.GetMaxByteCount(value?.Length ?? 0);

    /// <summary>The most bytes a text array field takes.</summary>
    public static int MaxBytes(IReadOnlyList<string> values)
    {
        var bytes = 4 + 20;
        foreach (var value in values) bytes += MaxBytes(value);
        return bytes;
    }

    public void Text(string value)
    {
        var written = Encoding.UTF8.GetBytes(value, _block.AsSpan(_length + 4));
        Int32Raw(written);
        _length += written;
    }

    /// <summary>A text field that may be NULL (length -1, no bytes).</summary>
    public void TextOrNull(string? value)
    {
        if (value is null) Int32Raw(-1);
        else Text(value);
    }

    public void Int16(short value)
    {
        Int32Raw(2);
        Int16Raw(value);
    }

    public void Int32(int value)
    {
        Int32Raw(4);
        Int32Raw(value);
    }

    public void Boolean(bool value)
    {
        Int32Raw(1);
        _block[_length++] = value ? (byte)1 : (byte)0;
    }

    /// <summary>A one-dimensional <c>text[]</c> without nulls; an empty one has no dimension.</summary>
    public void TextArray(IReadOnlyList<string> values)
    {
        var start = _length;
        _length += 4;
        Int32Raw(values.Count == 0 ? 0 : 1);
        Int32Raw(0);
        Int32Raw(TextOid);
        if (values.Count > 0)
        {
            Int32Raw(values.Count);
            Int32Raw(1);
            foreach (var value in values) Text(value);
        }
        BinaryPrimitives.WriteInt32BigEndian(_block.AsSpan(start), _length - start - 4);
    }

    /// <summary>Sends the rows to a <c>COPY table (columns) FROM STDIN (FORMAT BINARY)</c>; PostgreSQL's verdict on them
    /// (a unique violation, say) is thrown when the COPY ends.</summary>
    public async Task CopyTo(NpgsqlConnection connection, string copy)
    {
        await using var stream = await connection.BeginRawBinaryCopyAsync(copy);
        await stream.WriteAsync(Header);
        foreach (var (block, length) in _full) await stream.WriteAsync(block.AsMemory(0, length));
        await stream.WriteAsync(_block.AsMemory(0, _length));
        await stream.WriteAsync(Trailer);
    }

    public void Dispose()
    {
        foreach (var (block, _) in _full) ArrayPool<byte>.Shared.Return(block);
        _full.Clear();
        ArrayPool<byte>.Shared.Return(_block);
        _block = [];
    }

    private void Int16Raw(short value)
    {
        BinaryPrimitives.WriteInt16BigEndian(_block.AsSpan(_length), value);
        _length += 2;
    }

    private void Int32Raw(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(_block.AsSpan(_length), value);
        _length += 4;
    }
}
