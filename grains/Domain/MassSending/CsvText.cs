using System.Text;

namespace DigitalPost.Domain.MassSending;

/// <summary>
/// Turns uploaded CSV bytes into text. Danish senders export from Excel, which writes UTF-8 with a BOM, UTF-8 without
/// one (from other tools), or Windows-1252 ("CSV (semikolonsepareret)"); nothing in the file says which, so it is guessed.
/// </summary>
public static class CsvText
{
    private const int ChunkBytes = 64 * 1024;
    private const int InMemoryLimit = 4 * 1024 * 1024;

    private static readonly Encoding StrictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Windows-1252, which .NET only knows once the code-pages provider is registered.</summary>
    public static Encoding Windows1252 { get; } = RegisterCodePages();

    private static Encoding RegisterCodePages()
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        return Encoding.GetEncoding(1252);
    }

    /// <summary>
    /// A reader of <paramref name="stream"/>'s text: a byte order mark decides (UTF-8, or UTF-16 from Excel's "Unicode
    /// text"); without one, the text is UTF-8 if every byte of it is valid UTF-8, else Windows-1252.
    /// </summary>
    /// <remarks>
    /// The whole input is checked, not a first block: a file can be ASCII for its first thousand rows and have "Søren"
    /// in Windows-1252 after them, and a wrong guess garbles names in letters. That takes a second pass, so a stream
    /// that cannot seek (an HTTP request body) is first copied: in memory up to 4 MB, else to a temporary file that
    /// is deleted when the reader is disposed. The copy reads synchronously; use <see cref="OpenAsync"/> where
    /// synchronous I/O is not allowed (ASP.NET Core request bodies).
    /// Disposing the reader disposes <paramref name="stream"/> unless <paramref name="leaveOpen"/>.
    /// </remarks>
    public static TextReader Open(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.CanSeek) return Reader(stream, leaveOpen);
        var copy = Buffer(stream);
        if (!leaveOpen) stream.Dispose();
        return Reader(copy, leaveOpen: false);
    }

    /// <summary>As <see cref="Open"/>, reading <paramref name="stream"/> asynchronously.</summary>
    /// <remarks>Only memory and file streams are read in place: another seekable stream (such as ASP.NET Core's
    /// buffered request body) may still refuse the synchronous reads that detection and the CSV reader make.</remarks>
    public static async Task<TextReader> OpenAsync(Stream stream, bool leaveOpen = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream is MemoryStream or FileStream) return Reader(stream, leaveOpen);
        var copy = await BufferAsync(stream, cancellationToken);
        if (!leaveOpen) await stream.DisposeAsync();
        return Reader(copy, leaveOpen: false);
    }

    /// <summary>
    /// A reader of <paramref name="stream"/>'s text in the encoding its sender declared (an HTTP charset), decoded as it
    /// arrives: with the encoding known, nothing is read ahead to guess it, so a file of any size starts being read at
    /// once. A byte order mark still decides. A byte that is not text in the declared encoding throws a
    /// <see cref="DecoderFallbackException"/> where it is read, rather than becoming a replacement character in a name.
    /// The reader reads <paramref name="stream"/> synchronously.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="charset"/> names no encoding this platform knows.</exception>
    public static TextReader OpenDeclared(Stream stream, string charset, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _ = Windows1252; // registers the code pages, so that "windows-1252" is known
        var encoding = Encoding.GetEncoding(charset.Trim('"'), EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);
        return new StreamReader(stream, encoding, detectEncodingFromByteOrderMarks: true, ChunkBytes, leaveOpen);
    }

    /// <summary>
    /// The field separator of a file, judged from its header: whichever of ';', ',' and tab occurs most outside quotes.
    /// A tie, or a header of one column, gives ';', what Danish Excel writes.
    /// </summary>
    /// <remarks>CsvHelper can detect a separator itself, but it also considers '|', which this platform uses between
    /// the filenames and copy recipients inside a field.</remarks>
    public static char DetectDelimiter(string headerLine)
    {
        int semicolons = 0, commas = 0, tabs = 0;
        var quoted = false;
        foreach (var c in headerLine)
        {
            switch (c)
            {
                case '"': quoted = !quoted; break;
                case ';' when !quoted: semicolons++; break;
                case ',' when !quoted: commas++; break;
                case '\t' when !quoted: tabs++; break;
            }
        }
        if (tabs > semicolons && tabs > commas) return '\t';
        return commas > semicolons ? ',' : ';';
    }

    private static StreamReader Reader(Stream stream, bool leaveOpen)
    {
        var start = stream.Position;
        var (encoding, preamble) = DetectEncoding(stream);
        // The preamble is skipped here rather than by StreamReader, which only skips the one of the encoding it is given.
        stream.Position = start + preamble;
        return new StreamReader(stream, encoding, detectEncodingFromByteOrderMarks: false, ChunkBytes, leaveOpen);
    }

    private static (Encoding Encoding, int Preamble) DetectEncoding(Stream stream)
    {
        var buffer = new byte[ChunkBytes];
        var read = stream.ReadAtLeast(buffer, 4, throwOnEndOfStream: false);
        var head = buffer.AsSpan(0, read);
        if (head.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) return (Utf8, 3);
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE])) return (new UnicodeEncoding(bigEndian: false, byteOrderMark: false), 2);
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF])) return (new UnicodeEncoding(bigEndian: true, byteOrderMark: false), 2);

        var decoder = StrictUtf8.GetDecoder();
        var chars = new char[StrictUtf8.GetMaxCharCount(buffer.Length)];
        try
        {
            // GetChars, not GetCharCount, which leaves the decoder's state alone: with flush: false the decoder keeps a
            // sequence split between two chunks for the next one, and the final flush rejects one cut off by the end.
            while (read > 0)
            {
                decoder.GetChars(buffer.AsSpan(0, read), chars, flush: false);
                read = stream.Read(buffer);
            }
            decoder.GetChars([], chars, flush: true);
            return (Utf8, 0);
        }
        catch (DecoderFallbackException)
        {
            return (Windows1252, 0);
        }
    }

    private static Stream Buffer(Stream source)
    {
        var memory = new MemoryStream();
        var chunk = new byte[ChunkBytes];
        int read;
        while ((read = source.Read(chunk)) > 0)
        {
            memory.Write(chunk, 0, read);
            if (memory.Length <= InMemoryLimit) continue;
            var file = TemporaryFile();
            try
            {
                memory.WriteTo(file);
                source.CopyTo(file);
                file.Position = 0;
                return file;
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }
        memory.Position = 0;
        return memory;
    }

    private static async Task<Stream> BufferAsync(Stream source, CancellationToken cancellationToken)
    {
        var memory = new MemoryStream();
        var chunk = new byte[ChunkBytes];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken)) > 0)
        {
            memory.Write(chunk, 0, read);
            if (memory.Length <= InMemoryLimit) continue;
            var file = TemporaryFile();
            try
            {
                memory.WriteTo(file);
                await source.CopyToAsync(file, cancellationToken);
                file.Position = 0;
                return file;
            }
            catch
            {
                await file.DisposeAsync();
                throw;
            }
        }
        memory.Position = 0;
        return memory;
    }

    private static FileStream TemporaryFile() => new(
        Path.Combine(Path.GetTempPath(), $"dp-csv-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None,
        ChunkBytes, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
}
