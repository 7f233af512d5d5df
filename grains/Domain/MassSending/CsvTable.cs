using System.Text;
using CsvHelper;

namespace DigitalPost.Domain.MassSending;

/// <summary>
/// The header of a CSV file is unusable (no recipient column, a column twice, a merge field of the template missing),
/// so no row of it could become a letter: the whole file is rejected before anything is accepted.
/// </summary>
/// <remarks>The problems quote column names, and a file without a header row has its first data row there, CPR number
/// and all: CPR-shaped numbers are masked, so the problems and the message may be shown and logged.</remarks>
public sealed class CsvHeaderException(IReadOnlyList<string> problems) : Exception(Describe(problems))
{
    /// <summary>Each problem as a sentence a sender can act on.</summary>
    public IReadOnlyList<string> Problems { get; } = [.. problems.Select(Cpr.Redact)];

    private static string Describe(IReadOnlyList<string> problems) =>
        "The header row of the file cannot be used: " + Cpr.Redact(string.Join(" ", problems));
}

/// <summary>One data row: its number (data rows count from 1; the header and blank rows are not counted), its trimmed
/// values, and when it cannot be used, the field (a column's name, or "row") and why.</summary>
internal readonly record struct CsvTableRow(int Row, string[] Fields, (string Field, string Reason)? Malformed);

/// <summary>A delimited file read as a header and rows of strings, leaving the meaning of the columns to its callers.</summary>
internal sealed class CsvTable
{
    private readonly TextReader reader;

    private CsvTable(TextReader reader, char delimiter, string[] header)
    {
        this.reader = reader;
        Delimiter = delimiter;
        Header = header;
    }

    /// <summary>The most characters a value may have. A letter's merge field is a name, an amount, a sentence; far
    /// longer values are mistakes or attacks, and laying one out costs time in proportion to its length.</summary>
    public const int MaxFieldLength = 10_000;

    /// <summary>The most characters of a header line: 1,000 columns of 60 characters fit.</summary>
    public const int MaxHeaderLength = 1 << 16;

    /// <summary>The most bytes of one row. Rows are read one at a time, so this bounds the memory a row can take (a value
    /// whose closing quote never comes would otherwise take the rest of the file into memory).</summary>
    public const int MaxRowBytes = 16 << 20;

    public char Delimiter { get; }

    /// <summary>Column names, trimmed; an unnamed column is "".</summary>
    public IReadOnlyList<string> Header { get; }

    /// <summary>Reads the header line. The separator is judged from it, so it is read as a line before CsvHelper sees the
    /// rest; a header whose names hold line breaks inside quotes is therefore not supported (Excel never writes one).</summary>
    public static CsvTable Open(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var line = NextNonBlankLine(reader)?.TrimStart('\uFEFF');
        char? delimiter = null;
        // Excel honours, and some exports start with, a "sep=;" line naming the separator.
        if (line is { Length: 5 } && line.StartsWith("sep=", StringComparison.OrdinalIgnoreCase))
        {
            delimiter = line[4];
            line = NextNonBlankLine(reader);
        }
        if (string.IsNullOrWhiteSpace(line))
            throw new CsvHeaderException(["The file is empty: its first line must be a header naming the columns (for example cpr;navn)."]);
        // Text has no NUL characters; binary files and UTF-32 (which the encoding guess reads as UTF-16) do.
        if (line.Contains('\0'))
            throw new CsvHeaderException(["The file is not CSV text: its first line holds NUL characters, as binary files and UTF-32 text do; " +
                                          "save it as CSV in UTF-8 or as Excel's 'CSV (semikolonsepareret)'."]);
        var separator = delimiter ?? CsvText.DetectDelimiter(line);
        using var headerReader = CsvReader.FromText(line, Options(separator));
        var header = headerReader.Read()
            ? Enumerable.Range(0, headerReader.FieldCount).Select(i => Clean(headerReader.GetString(i))).ToArray()
            : [];
        return new CsvTable(reader, separator, header);
    }

    /// <summary>The data rows, read lazily. Rows whose values are all empty (blank lines, and the ";;;" lines Excel writes
    /// for rows that once held something) are skipped and get no number.</summary>
    public IEnumerable<CsvTableRow> Rows()
    {
        var malformed = new Dictionary<long, CsvMalformedReason>();
        // CsvHelper reports broken quoting while it scans, possibly ahead of the record it returns, so reports are kept
        // by its record number (data records from 1, as there is no header in its view) until that record comes.
        var options = Options(Delimiter, record => malformed.TryAdd(record.RecordNumber, record.Reason));
        using var csv = CsvReader.Create(reader, options, leaveOpen: true);
        var row = 0;
        while (true)
        {
            bool more, tooLong = false;
            // Only a row over MaxRowBytes throws: malformed quoting is recovered from and reported as it is met.
            try { more = csv.Read(); }
            catch (CsvFormatException) { (more, tooLong) = (false, true); }
            if (tooLong)
                yield return new CsvTableRow(++row, [], ("row", $"is longer than {MaxRowBytes >> 20} MB, so it and the rows after it were not read; " +
                                                                "check for a double quote that is never closed"));
            if (!more) yield break;
            var fields = new string[csv.FieldCount];
            for (var i = 0; i < fields.Length; i++) fields[i] = Clean(csv.GetString(i));
            var broken = malformed.Remove(csv.RowNumber, out var reason);
            if (!broken && Array.TrueForAll(fields, f => f.Length == 0)) continue;
            yield return new CsvTableRow(++row, fields, broken ? ("row", Describe(reason)) : Overlong(fields));
        }
    }

    /// <summary>The first value longer than <see cref="MaxFieldLength"/>, named by its column.</summary>
    private (string Field, string Reason)? Overlong(string[] fields)
    {
        var column = Array.FindIndex(fields, f => f.Length > MaxFieldLength);
        if (column < 0) return null;
        var name = column < Header.Count && Header[column].Length > 0 ? Header[column] : $"column {column + 1}";
        return (name, $"holds {fields[column].Length:N0} characters; a value may hold at most {MaxFieldLength:N0}");
    }

    private static CsvReaderOptions Options(char separator, Action<CsvMalformedRecord>? onMalformed = null) => new()
    {
        OnMalformedRecord = onMalformed,
        Separator = separator,
        HasHeader = false,
        TrimWhitespace = true,
        TrimInsideQuotes = true,
        SkipEmptyLines = true,
        DetectSeparatorHint = false,
        MalformedData = CsvMalformedDataHandling.Recover,
        FieldCountMismatch = CsvFieldCountHandling.Allow,
        // Exception messages end up in logs, and values may be CPR numbers.
        IncludeValuesInExceptions = false,
        MaxRecordSize = MaxRowBytes,
    };

    // Values pasted into Excel from web pages and Word often end in non-breaking spaces, which CsvHelper's trimming
    // (spaces and tabs) leaves.
    private static string Clean(string? value) => value?.Trim() ?? "";

    /// <summary>As <see cref="TextReader.ReadLine"/>, skipping blank lines, but refusing a line longer than
    /// <see cref="MaxHeaderLength"/>: a file without line breaks would otherwise be read whole into one string.</summary>
    private static string? NextNonBlankLine(TextReader reader)
    {
        var line = new StringBuilder();
        int c;
        while ((c = reader.Read()) >= 0)
        {
            if (c is '\r' or '\n')
            {
                if (c == '\r' && reader.Peek() == '\n') reader.Read();
                if (!IsBlank(line)) return line.ToString();
                line.Clear();
                continue;
            }
            if (line.Length == MaxHeaderLength)
                throw new CsvHeaderException([$"The first line is longer than {MaxHeaderLength:N0} characters, so it is not a header row " +
                                              "naming the columns; the file may not be CSV text, or its line breaks are missing."]);
            line.Append((char)c);
        }
        return IsBlank(line) ? null : line.ToString();
    }

    private static bool IsBlank(StringBuilder line)
    {
        foreach (var chunk in line.GetChunks())
            if (!chunk.Span.IsWhiteSpace()) return false;
        return true;
    }

    private static string Describe(CsvMalformedReason reason) => reason switch
    {
        CsvMalformedReason.StrayQuote =>
            "a value holds a double quote (\") but does not start with one, so where its columns end is unclear; " +
            "put the whole value in double quotes and write each quote inside it twice (\"\")",
        CsvMalformedReason.TextAfterClosingQuote =>
            "there is text after the closing double quote of a value, so where its columns end is unclear; " +
            "put the whole value in double quotes and write each quote inside it twice (\"\")",
        CsvMalformedReason.UnterminatedQuote =>
            "a value opens a double quote that is never closed, so the rest of the file was read into it and no rows " +
            "after this one were read; add the missing double quote",
        CsvMalformedReason.LineBreakInQuotes => "a quoted value holds a line break; remove it",
        _ => $"the row is malformed ({reason}); check its quotes and separators",
    };
}
