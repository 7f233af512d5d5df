using System.Globalization;
using DigitalPost.Contracts;
using DigitalPost.Domain.Letters;

namespace DigitalPost.Domain.MassSending;

/// <summary>
/// What became of one data row: the accepted <see cref="BatchRow"/>, or null when an issue of severity
/// <see cref="IssueSeverity.Error"/> rejects it. Warnings may come with an accepted row.
/// </summary>
/// <param name="Row">The data row's number: data rows count from 1, the header row is not counted, nor are blank rows.</param>
public sealed record RowResult(int Row, BatchRow? Accepted, IReadOnlyList<RowIssue> Issues);

/// <summary>
/// Reads the recipient CSV of a merge batch: one letter per data row. Column names are matched ignoring case:
/// <list type="bullet">
/// <item><c>cpr</c>, <c>cvr</c>, <c>pnummer</c> (<c>pnumber</c>, <c>p-nummer</c>, <c>p-number</c>): the recipient.
/// A row names a CPR or a CVR number, not both. A row with only a P-number is accepted as a company recipient with
/// <see cref="BatchRow.RecipientId"/> "" and <see cref="BatchRow.PNumber"/> set: the company is found from the P-number by
/// the registry lookup that follows reading, which is also where an unknown P-number is reported.</item>
/// <item><c>bilag</c> (<c>attachment</c>): filenames of the row's individual attachments, separated by '|'.</item>
/// <item><c>kopi</c> (<c>copy</c>): CPR or CVR numbers that get a copy, separated by '|' or spaces.</item>
/// <item>Every other named column is a merge field named by its header. A column whose name ends in <c>dato</c> or
/// <c>date</c> must hold dates (dd-MM-yyyy, dd.MM.yyyy, d/M/yyyy or yyyy-MM-dd); its values are passed on as written.
/// The recipient columns are merge fields too when the template uses them (letters often show the CPR number).</item>
/// </list>
/// A problem in one row rejects that row only; problems of the header reject the file (<see cref="CsvHeaderException"/>).
/// No reason quotes a full CPR number.
/// </summary>
public sealed class RecipientCsvReader
{
    /// <summary>Room kept for the rendered letter itself and the message around it, when adding up the attachments
    /// against <see cref="MessageRules.MaxMessageBytes"/>: a letter PDF is tens of kilobytes, so 1 MB is generous.</summary>
    public const long LetterMarginBytes = 1024 * 1024;

    private static readonly string[] CprNames = ["cpr"];
    private static readonly string[] CvrNames = ["cvr"];
    private static readonly string[] PNumberNames = ["pnummer", "pnumber", "p-nummer", "p-number"];
    private static readonly string[] AttachmentNames = ["bilag", "attachment"];
    private static readonly string[] CopyNames = ["kopi", "copy"];

    private readonly HashSet<string> mergeFields;
    private readonly HashSet<string> requiredFields;
    private readonly Func<string, long?> attachmentSize;
    private readonly long commonAttachmentBytes;

    /// <param name="mergeFields">The merge fields the letter template uses, matched to column names ignoring case.</param>
    /// <param name="attachmentSize">The size in bytes of the individual attachment with the given filename, or null when
    /// none by that name was uploaded.</param>
    /// <param name="commonAttachmentBytes">The total size of the attachments that go with every letter.</param>
    /// <param name="requiredFields">The merge fields a row may not leave empty (those the letter always prints); the rest
    /// may be empty, as a field only tested in an <c>{% if %}</c>. All merge fields when not given.</param>
    public RecipientCsvReader(IReadOnlySet<string> mergeFields, Func<string, long?> attachmentSize, long commonAttachmentBytes,
        IReadOnlySet<string>? requiredFields = null)
    {
        ArgumentNullException.ThrowIfNull(mergeFields);
        ArgumentNullException.ThrowIfNull(attachmentSize);
        ArgumentOutOfRangeException.ThrowIfNegative(commonAttachmentBytes);
        this.mergeFields = new HashSet<string>(mergeFields.Select(f => f.Trim()).Where(f => f.Length > 0), StringComparer.OrdinalIgnoreCase);
        this.attachmentSize = attachmentSize;
        this.commonAttachmentBytes = commonAttachmentBytes;
        this.requiredFields = requiredFields is null ? this.mergeFields : new HashSet<string>(requiredFields, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Checks the header at once, then streams the data rows as they are enumerated; the reader is not disposed.
    /// Row numbers count data rows from 1: the header is not a row, and neither are blank lines.
    /// </summary>
    /// <exception cref="CsvHeaderException">The file is empty, or its header cannot be used.</exception>
    public IEnumerable<RowResult> Read(TextReader reader)
    {
        var table = CsvTable.Open(reader);
        var layout = Analyse(table.Header);
        return ReadRows(table, layout);
    }

    private IEnumerable<RowResult> ReadRows(CsvTable table, Layout layout)
    {
        foreach (var row in table.Rows()) yield return Check(row, layout, table.Delimiter);
    }

    private sealed record Layout(
        string[] Names,
        int? Cpr,
        int? Cvr,
        int? PNumber,
        int? Attachments,
        int? Copies,
        int[] FieldColumns,
        int[] DateColumns,
        (string Field, int Column)[] TemplateFields);

    private Layout Analyse(IReadOnlyList<string> header)
    {
        var names = header.ToArray();
        var problems = new List<string>();

        foreach (var group in names.Select((name, i) => (name, i)).Where(c => c.name.Length > 0)
                     .GroupBy(c => c.name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            problems.Add($"The column '{group.First().name}' appears {group.Count()} times (columns {Positions(group)}); column names must be unique.");

        int? Role(string[] aliases, string what)
        {
            var columns = names.Select((name, i) => (name, i)).Where(c => aliases.Contains(c.name, StringComparer.OrdinalIgnoreCase)).ToList();
            // Two spellings of one role (pnummer and p-nummer) are as ambiguous as one name twice.
            if (columns.Select(c => c.name.ToLowerInvariant()).Distinct().Count() > 1)
                problems.Add($"The columns {string.Join(" and ", columns.Select(c => $"'{c.name}'"))} all give {what}; keep one of them.");
            return columns.Count > 0 ? columns[0].i : null;
        }

        var cpr = Role(CprNames, "the CPR number");
        var cvr = Role(CvrNames, "the CVR number");
        var pNumber = Role(PNumberNames, "the P-number");
        var attachments = Role(AttachmentNames, "the individual attachments");
        var copies = Role(CopyNames, "the copy recipients");
        if (cpr is null && cvr is null && pNumber is null)
            problems.Add($"There is no recipient column: the header needs a column 'cpr', 'cvr' or 'pnummer' (found: {Listing(names)}).");

        var roles = new HashSet<int?>([cpr, cvr, pNumber, attachments, copies]);
        var templateFields = new List<(string Field, int Column)>();
        var missing = new List<string>();
        foreach (var field in mergeFields.Order(StringComparer.OrdinalIgnoreCase))
        {
            var column = Array.FindIndex(names, n => string.Equals(n, field, StringComparison.OrdinalIgnoreCase)
                || string.Equals(LetterTemplate.AsciiName(n), field, StringComparison.OrdinalIgnoreCase));
            if (column < 0) missing.Add(field);
            else templateFields.Add((field, column));
        }
        // One problem for all of them: a template of a thousand fields against the wrong file is one mistake.
        if (missing.Count == 1)
            problems.Add($"The template uses the merge field '{missing[0]}', but no column is named '{missing[0]}' (found: {Listing(names)}); add the column or correct its name.");
        else if (missing.Count > 1)
            problems.Add($"The template uses the merge fields {Fields(missing)}, but no columns are named so (found: {Listing(names)}); add the columns or correct their names.");
        if (problems.Count > 0) throw new CsvHeaderException(problems);

        var fieldColumns = Enumerable.Range(0, names.Length)
            .Where(i => names[i].Length > 0 && (!roles.Contains(i) || templateFields.Any(t => t.Column == i)))
            .ToArray();
        var dateColumns = fieldColumns.Where(i => IsDateColumn(names[i])).ToArray();
        return new Layout(names, cpr, cvr, pNumber, attachments, copies, fieldColumns, dateColumns, [.. templateFields]);
    }

    private RowResult Check(CsvTableRow source, Layout layout, char delimiter)
    {
        var row = source.Row;
        var names = layout.Names;
        var issues = new List<RowIssue>();
        void Error(string field, string reason) => issues.Add(new RowIssue(row, field, reason));
        void Warn(string field, string reason) => issues.Add(new RowIssue(row, field, reason, IssueSeverity.Warning));

        if (source.Malformed is (var where, var why))
        {
            Error(where, why);
            return new RowResult(row, null, issues);
        }
        var values = source.Fields;
        if (values.Length != names.Length)
        {
            // With columns out of place no value can be trusted to belong to its header, so nothing else is checked.
            Error("row", $"has {values.Length} values but the header has {names.Length} columns; check for a missing or extra " +
                         $"'{Show(delimiter)}' (a value that contains '{Show(delimiter)}' must be in double quotes)");
            return new RowResult(row, null, issues);
        }
        string Value(int? column) => column is { } i ? values[i] : "";
        string Name(int? column) => column is { } i ? names[i] : "row";

        var (cpr, cvr, pNumber) = (Value(layout.Cpr), Value(layout.Cvr), Value(layout.PNumber));
        var kind = RecipientKind.Cvr;
        var recipientId = "";
        if (cpr.Length > 0 && cvr.Length > 0)
            Error("row", $"both '{Name(layout.Cpr)}' and '{Name(layout.Cvr)}' are filled in; a row has one recipient, so fill in only one of them");
        else if (cpr.Length > 0)
        {
            kind = RecipientKind.Cpr;
            recipientId = Cpr.Normalise(cpr);
            var check = Cpr.Check(cpr);
            if (!check.IsValid) Error(Name(layout.Cpr), check.Error!);
            else if (!check.Modulus11Holds) Warn(Name(layout.Cpr), Modulus11Warning(recipientId));
            if (pNumber.Length > 0)
                Error(Name(layout.PNumber), $"'{pNumber}' is a P-number, which narrows a company (CVR) recipient, but this row's recipient is a CPR number; leave it empty");
        }
        else if (cvr.Length > 0)
        {
            recipientId = cvr;
            if (Cvr.Check(cvr) is { } error) Error(Name(layout.Cvr), Cpr.Redact(error));
        }
        else if (pNumber.Length == 0)
            Error("row", $"has no recipient; fill in {Join(new[] { layout.Cpr, layout.Cvr, layout.PNumber }.Where(c => c is not null).Select(Name).ToArray(), "or")}");
        if (pNumber.Length > 0 && PNumber.Check(pNumber) is { } pNumberError) Error(Name(layout.PNumber), pNumberError);

        var copies = new List<string>();
        foreach (var entry in SplitCopies(Value(layout.Copies)))
        {
            if (CopyRecipient(entry, out var id, out var error, out var warning)) copies.Add(id);
            if (error is not null) Error(Name(layout.Copies), error);
            if (warning is not null) Warn(Name(layout.Copies), warning);
        }

        var attachments = SplitList(Value(layout.Attachments), '|');
        long attachmentBytes = 0;
        foreach (var filename in attachments)
        {
            if (attachmentSize(filename) is { } size) attachmentBytes += size;
            else Error(Name(layout.Attachments), $"no attachment named '{Cpr.Redact(filename)}' was uploaded with the batch; upload it, or correct the filename (names must match exactly)");
        }
        var letterBytes = commonAttachmentBytes + attachmentBytes + LetterMarginBytes;
        if (letterBytes > MessageRules.MaxMessageBytes)
            Error(Name(layout.Attachments), $"oversize message: with its attachments ({commonAttachmentBytes:N0} bytes common to all letters, " +
                                            $"{attachmentBytes:N0} bytes for this row) and {LetterMarginBytes:N0} bytes for the letter itself the message comes to " +
                                            $"{letterBytes:N0} bytes, more than the {MessageRules.MaxMessageBytes:N0} (99.5 MB) Digital Post accepts; send fewer or smaller attachments");

        foreach (var (field, column) in layout.TemplateFields)
            if (values[column].Length == 0 && requiredFields.Contains(field))
                Error(names[column], $"missing merge field: the template uses '{field}', but this row leaves it empty; fill it in");

        foreach (var column in layout.DateColumns)
        {
            var value = values[column];
            if (value.Length == 0) continue;
            switch (ParseDate(value))
            {
                case DateShape.NotADate:
                    Error(names[column], $"'{Cpr.Redact(value)}' is not a date; write it as dd-MM-yyyy, for example 24-12-2026 (dd.MM.yyyy, d/M/yyyy and yyyy-MM-dd are read too)");
                    break;
                case DateShape.NoSuchDay:
                    Error(names[column], $"'{value}' is a date that does not exist; check the day and the month");
                    break;
            }
        }

        for (var i = 0; i < names.Length; i++)
            if (names[i].Length == 0 && values[i].Length > 0)
                Warn($"column {i + 1}", $"has no name in the header, so its value is not used; name the column if the letter needs it");

        if (issues.Any(i => i.Severity == IssueSeverity.Error)) return new RowResult(row, null, issues);

        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var column in layout.FieldColumns) fields[names[column]] = values[column];
        var accepted = new BatchRow(row, kind, recipientId, pNumber.Length > 0 ? pNumber : null, fields, attachments, copies.Distinct().ToList());
        return new RowResult(row, accepted, issues);
    }

    private static string Modulus11Warning(string cpr) =>
        $"'{Cpr.Mask(cpr)}' fails the modulus-11 check; numbers issued since 2007 may, so the row is kept, but check the number";

    /// <summary>Ten digits (or DDMMYY-SSSS) is a CPR number and eight a CVR number; the id comes out normalised.</summary>
    private static bool CopyRecipient(string entry, out string id, out string? error, out string? warning)
    {
        id = "";
        error = warning = null;
        var digits = entry.Replace("-", "");
        if (digits.Length == 10)
        {
            var check = Cpr.Check(entry);
            if (!check.IsValid)
            {
                error = $"a copy recipient {check.Error}";
                return false;
            }
            id = Cpr.Normalise(entry);
            if (!check.Modulus11Holds) warning = $"copy recipient {Modulus11Warning(id)}";
            return true;
        }
        if (entry.Length == 8 && entry.All(char.IsAsciiDigit))
        {
            error = Cvr.Check(entry) is { } cvrError ? $"copy recipient {cvrError}" : null;
            id = entry;
            return error is null;
        }
        error = $"copy recipient '{Cpr.Redact(entry)}' is neither a CPR number (10 digits) nor a CVR number (8 digits); separate several with '|' or spaces";
        return false;
    }

    private static readonly char[] CopySeparators = ['|', ' ', '\t', '\u00A0'];

    private static IEnumerable<string> SplitCopies(string value) =>
        value.Length == 0 ? [] : value.Split(CopySeparators, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static List<string> SplitList(string value, char separator) =>
        [.. value.Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static bool IsDateColumn(string name) =>
        name.EndsWith("dato", StringComparison.OrdinalIgnoreCase) || name.EndsWith("date", StringComparison.OrdinalIgnoreCase);

    private enum DateShape { Date, NotADate, NoSuchDay }

    /// <summary>The shape is matched before the calendar is asked, so 30-02-2026 can be told apart from a typo such as
    /// 30-022026. Read by hand rather than by a regular expression: a date column is checked on every row, and the
    /// match cost as much as the rest of the row. Only ASCII digits make a date.</summary>
    private static DateShape ParseDate(string value)
    {
        if (!DayFirst(value, out var year, out var month, out var day) && !YearFirst(value, out year, out month, out day)) return DateShape.NotADate;
        return year >= 1 && month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(year, month) ? DateShape.Date : DateShape.NoSuchDay;
    }

    // dd-MM-yyyy and dd.MM.yyyy, also with one-digit days and months; d/M/yyyy. The separator must be the same twice.
    private static bool DayFirst(ReadOnlySpan<char> s, out int year, out int month, out int day)
    {
        (year, month) = (0, 0);
        var at = 0;
        if (!Number(s, ref at, 1, 2, out day) || at >= s.Length || s[at] is not ('-' or '.' or '/')) return false;
        var separator = s[at++];
        if (!Number(s, ref at, 1, 2, out month) || at >= s.Length || s[at++] != separator) return false;
        return Number(s, ref at, 4, 4, out year) && at == s.Length;
    }

    // yyyy-MM-dd, also with one-digit months and days.
    private static bool YearFirst(ReadOnlySpan<char> s, out int year, out int month, out int day)
    {
        (month, day) = (0, 0);
        var at = 0;
        return Number(s, ref at, 4, 4, out year) && at < s.Length && s[at++] == '-'
            && Number(s, ref at, 1, 2, out month) && at < s.Length && s[at++] == '-'
            && Number(s, ref at, 1, 2, out day) && at == s.Length;
    }

    /// <summary>From <paramref name="min"/> to <paramref name="max"/> ASCII digits at <paramref name="at"/>, and no
    /// digit right after them.</summary>
    private static bool Number(ReadOnlySpan<char> s, ref int at, int min, int max, out int value)
    {
        value = 0;
        var start = at;
        while (at < s.Length && at - start < max && char.IsAsciiDigit(s[at])) value = value * 10 + (s[at++] - '0');
        return at - start >= min && (at >= s.Length || !char.IsAsciiDigit(s[at]));
    }

    private static string Show(char delimiter) => delimiter == '\t' ? "tab" : delimiter.ToString();

    private static string Positions(IEnumerable<(string name, int i)> columns) =>
        Join(columns.Select(c => (c.i + 1).ToString(CultureInfo.InvariantCulture)).ToArray(), "and");

    // At most 20 names are listed: a header can have a thousand columns, and a template a thousand fields.
    private const int NamesListed = 20;

    private static string Listing(string[] names)
    {
        if (names.Length == 0) return "no columns";
        var listed = string.Join(", ", names.Take(NamesListed).Select(n => n.Length == 0 ? "(unnamed)" : $"'{n}'"));
        return names.Length > NamesListed ? $"{listed} and {names.Length - NamesListed:N0} more" : listed;
    }

    private static string Fields(List<string> fields)
    {
        var quoted = fields.Take(NamesListed).Select(f => $"'{f}'").ToArray();
        return fields.Count > NamesListed ? $"{string.Join(", ", quoted)} and {fields.Count - NamesListed:N0} more" : Join(quoted, "and");
    }

    private static string Join(string[] items, string conjunction) =>
        items.Length <= 1 ? string.Concat(items) : $"{string.Join(", ", items[..^1])} {conjunction} {items[^1]}";
}
