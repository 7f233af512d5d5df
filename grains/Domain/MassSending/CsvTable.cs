using CsvHelper;

namespace DigitalPost.Domain.MassSending;

/// <summary>
/// The header of a CSV file is unusable (no recipient column, a column twice, a merge field of the template missing),
/// so no row of it could become a letter: the whole file is rejected before anything is accepted.
/// </summary>
public sealed class CsvHeaderException(IReadOnlyList<string> problems)
    : Exception("The header row of the file cannot be used: " + string.Join(" ", problems))
{
    /// <summary>Each problem as a sentence a sender can act on.</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>One data row: its number (data rows count from 1; the header and blank rows are not counted), its trimmed
/// values, and why the row is malformed when its quoting is broken.</summary>
internal readonly record struct CsvTableRow(int Row, string[] Fields, string? Malformed);

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
        if (line is null)
            throw new CsvHeaderException(["The file is empty: its first line must be a header naming the columns (for example cpr;navn)."]);
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
        while (csv.Read())
        {
            var fields = new string[csv.FieldCount];
            for (var i = 0; i < fields.Length; i++) fields[i] = Clean(csv.GetString(i));
            var broken = malformed.Remove(csv.RowNumber, out var reason);
            if (!broken && Array.TrueForAll(fields, f => f.Length == 0)) continue;
            yield return new CsvTableRow(++row, fields, broken ? Describe(reason) : null);
        }
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
    };

    // Values pasted into Excel from web pages and Word often end in non-breaking spaces, which CsvHelper's trimming
    // (spaces and tabs) leaves.
    private static string Clean(string? value) => value?.Trim() ?? "";

    private static string? NextNonBlankLine(TextReader reader)
    {
        while (reader.ReadLine() is { } line)
            if (!string.IsNullOrWhiteSpace(line)) return line;
        return null;
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
