using DigitalPost.Contracts;
using DigitalPost.Domain.Notifications;

namespace DigitalPost.Domain.MassSending;

/// <summary>
/// Reads the recipient registry from CSV: citizens (<c>cpr;navn;status;nemsms;vaerger;adresse</c>, optionally
/// <c>epost;mobil</c>: where they chose to be notified of new post) and companies
/// (<c>cvr;navn;postkasse;pnumre;adresse</c>), with Danish or English column names in any order. Lists inside a value
/// (guardians, P-numbers, address lines) are separated by '|'. As for recipient files, a bad row is reported and skipped,
/// a bad header rejects the file (<see cref="CsvHeaderException"/>), and row numbers count data rows from 1.
/// </summary>
public static class RegistryCsv
{
    private sealed record Column(string[] Names, bool Required);

    // The schema is fixed, so an unknown column is reported rather than ignored: it is most likely a misspelt one.
    private static readonly Column[] CitizenColumns =
    [
        new(["cpr"], true),
        new(["navn", "name"], true),
        new(["status"], true),
        new(["nemsms"], false),
        new(["vaerger", "værger", "guardians"], false),
        new(["adresse", "address"], false),
        // Notifications of new post (advisering): where the citizen chose to be told. Optional, so older files load.
        new(["epost", "e-post", "email", "e-mail"], false),
        new(["mobil", "mobile"], false),
    ];

    private static readonly Column[] CompanyColumns =
    [
        new(["cvr"], true),
        new(["navn", "name"], true),
        new(["postkasse", "mailbox"], true),
        new(["pnumre", "pnumbers"], false),
        new(["adresse", "address"], false),
    ];

    public static (IReadOnlyList<Citizen> Accepted, IReadOnlyList<RowIssue> Issues) ReadCitizens(Stream stream)
    {
        using var reader = CsvText.Open(stream, leaveOpen: true);
        return ReadCitizens(reader);
    }

    /// <exception cref="CsvHeaderException">The file is empty, lacks a required column, or has an unknown or repeated one.</exception>
    public static (IReadOnlyList<Citizen> Accepted, IReadOnlyList<RowIssue> Issues) ReadCitizens(TextReader reader)
    {
        var issues = new List<RowIssue>();
        return ([.. ReadCitizens(reader, issues.Add)], issues);
    }

    /// <summary>The file's citizens, read as they are enumerated, so that a national file is loaded without being held;
    /// each row's issues go to <paramref name="issue"/> as the row is read. A citizen listed again anywhere further down
    /// is still reported as a repeat.</summary>
    /// <exception cref="CsvHeaderException">At once: the file is empty, lacks a required column, or has an unknown or repeated one.</exception>
    public static IEnumerable<Citizen> ReadCitizens(TextReader reader, Action<RowIssue> issue)
    {
        var seen = new FirstRows();
        return Read<Citizen>(reader, CitizenColumns, issue, (row, cells) =>
        {
            var (cprColumn, nameColumn, statusColumn, nemSmsColumn, guardiansColumn, addressColumn, emailColumn, mobileColumn) = (0, 1, 2, 3, 4, 5, 6, 7);
            var cpr = Cpr.Normalise(cells.Value(cprColumn));
            var check = Cpr.Check(cpr);
            var added = false;
            if (!check.IsValid) row.Error(cells.Name(cprColumn), check.Error!);
            else
            {
                if (!check.Modulus11Holds)
                    row.Warn(cells.Name(cprColumn), $"'{Cpr.Mask(cpr)}' fails the modulus-11 check; numbers issued since 2007 may, so the citizen is kept, but check the number");
                if (seen.FirstOrAdd(FirstRows.Number(cpr), row.Number) is { } first)
                    row.Error(cells.Name(cprColumn), $"'{Cpr.Mask(cpr)}' is already in row {first}; list each citizen once");
                else added = true;
            }

            var name = cells.Value(nameColumn);
            if (name.Length == 0) row.Error(cells.Name(nameColumn), "is empty; give the citizen's name");

            var status = ParseStatus(cells.Value(statusColumn));
            if (status is null)
                row.Error(cells.Name(statusColumn), $"'{Cpr.Redact(cells.Value(statusColumn))}' is not a status; write registered (tilmeldt), " +
                                                    "not-yet-confirmed (afventer), exempt (fritaget) or closed (lukket)");

            var nemSms = cells.Value(nemSmsColumn) is { Length: > 0 } nemSmsText ? ParseYesNo(nemSmsText) : false;
            if (nemSms is null)
                row.Error(cells.Name(nemSmsColumn), $"'{Cpr.Redact(cells.Value(nemSmsColumn))}' is not yes or no; write ja or nej (yes/no, true/false, 1/0)");

            var guardians = new List<string>();
            foreach (var guardian in Split(cells.Value(guardiansColumn)))
            {
                var guardianCheck = Cpr.Check(guardian);
                if (!guardianCheck.IsValid) row.Error(cells.Name(guardiansColumn), $"a guardian {guardianCheck.Error}");
                else
                {
                    guardians.Add(Cpr.Normalise(guardian));
                    if (!guardianCheck.Modulus11Holds)
                        row.Warn(cells.Name(guardiansColumn), $"guardian '{Cpr.Mask(guardian)}' fails the modulus-11 check; numbers issued since 2007 may, but check the number");
                }
            }

            // A notification address that cannot be used costs the citizen only that notification, not the mailbox: a
            // warning, and the value is not echoed (it is personal data).
            string? email = null, mobile = null;
            if (cells.Value(emailColumn) is { Length: > 0 } emailText)
            {
                (email, var emailError) = NotificationAddress.Email(emailText);
                if (emailError is not null) row.Warn(cells.Name(emailColumn), $"{emailError}; the citizen is loaded without e-mail notification");
            }
            if (cells.Value(mobileColumn) is { Length: > 0 } mobileText)
            {
                (mobile, var mobileError) = NotificationAddress.Mobile(mobileText);
                if (mobileError is not null) row.Warn(cells.Name(mobileColumn), $"{mobileError}; the citizen is loaded without SMS notification");
            }

            if (row.HasErrors)
            {
                // A rejected row is no first row: the citizen may still be listed correctly further down.
                if (added) seen.Forget(FirstRows.Number(cpr));
                return null;
            }
            return new Citizen(cpr, name, status!.Value, nemSms!.Value, guardians, Split(cells.Value(addressColumn)), email, mobile);
        });
    }

    public static (IReadOnlyList<Company> Accepted, IReadOnlyList<RowIssue> Issues) ReadCompanies(Stream stream)
    {
        using var reader = CsvText.Open(stream, leaveOpen: true);
        return ReadCompanies(reader);
    }

    /// <exception cref="CsvHeaderException">The file is empty, lacks a required column, or has an unknown or repeated one.</exception>
    public static (IReadOnlyList<Company> Accepted, IReadOnlyList<RowIssue> Issues) ReadCompanies(TextReader reader)
    {
        var issues = new List<RowIssue>();
        return ([.. ReadCompanies(reader, issues.Add)], issues);
    }

    /// <summary>The file's companies, read as they are enumerated, as <see cref="ReadCitizens(TextReader, Action{RowIssue})"/>.</summary>
    /// <exception cref="CsvHeaderException">At once: the file is empty, lacks a required column, or has an unknown or repeated one.</exception>
    public static IEnumerable<Company> ReadCompanies(TextReader reader, Action<RowIssue> issue)
    {
        var seen = new FirstRows();
        return Read<Company>(reader, CompanyColumns, issue, (row, cells) =>
        {
            var (cvrColumn, nameColumn, mailboxColumn, pNumbersColumn, addressColumn) = (0, 1, 2, 3, 4);
            var cvr = cells.Value(cvrColumn);
            var added = false;
            if (Cvr.Check(cvr) is { } cvrError) row.Error(cells.Name(cvrColumn), Cpr.Redact(cvrError));
            else if (seen.FirstOrAdd(FirstRows.Number(cvr), row.Number) is { } first) row.Error(cells.Name(cvrColumn), $"'{cvr}' is already in row {first}; list each company once");
            else added = true;

            var name = cells.Value(nameColumn);
            if (name.Length == 0) row.Error(cells.Name(nameColumn), "is empty; give the company's name");

            var mailbox = cells.Value(mailboxColumn).ToLowerInvariant() switch
            {
                "aktiv" or "active" => true,
                "lukket" or "closed" => (bool?)false,
                _ => null,
            };
            if (mailbox is null)
                row.Error(cells.Name(mailboxColumn), $"'{Cpr.Redact(cells.Value(mailboxColumn))}' is not a mailbox state; write aktiv (active) or lukket (closed)");

            var pNumbers = Split(cells.Value(pNumbersColumn));
            foreach (var pNumber in pNumbers)
                if (PNumber.Check(pNumber) is { } pNumberError) row.Error(cells.Name(pNumbersColumn), pNumberError);

            if (row.HasErrors)
            {
                if (added) seen.Forget(FirstRows.Number(cvr));
                return null;
            }
            return new Company(cvr, name, mailbox!.Value, pNumbers, Split(cells.Value(addressColumn)));
        });
    }

    private static RegistrationStatus? ParseStatus(string value) => value.ToLowerInvariant() switch
    {
        "registered" or "tilmeldt" => RegistrationStatus.Registered,
        "not-yet-confirmed" or "afventer" => RegistrationStatus.NotYetConfirmed,
        "exempt" or "fritaget" => RegistrationStatus.Exempt,
        "closed" or "lukket" => RegistrationStatus.Closed,
        _ => null,
    };

    private static bool? ParseYesNo(string value) => value.ToLowerInvariant() switch
    {
        "ja" or "yes" or "true" or "1" => true,
        "nej" or "no" or "false" or "0" => false,
        _ => null,
    };

    private static string[] Split(string value) => value.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The issues of one row, kept by the row's checks.</summary>
    private sealed class RowIssues(int number, Action<RowIssue> issue)
    {
        public int Number { get; } = number;
        public bool HasErrors { get; private set; }

        public void Error(string field, string reason)
        {
            HasErrors = true;
            issue(new RowIssue(Number, field, reason));
        }

        public void Warn(string field, string reason) => issue(new RowIssue(Number, field, reason, IssueSeverity.Warning));
    }

    /// <summary>A row's values by schema position: "" for an optional column the file does not have.</summary>
    private sealed class Cells(string[] values, int?[] columns, string[] names)
    {
        public string Value(int key) => columns[key] is { } i ? values[i] : "";
        public string Name(int key) => names[key];
    }

    /// <summary>Checks the header now (a bad one throws before any row is read) and reads the rows as the records are
    /// enumerated. <paramref name="check"/> gives a row's record, or null when the row has errors.</summary>
    private static IEnumerable<T> Read<T>(TextReader reader, Column[] schema, Action<RowIssue> issue, Func<RowIssues, Cells, T?> check) where T : class
    {
        var table = CsvTable.Open(reader);
        var header = table.Header;
        var columns = new int?[schema.Length];
        // A column absent from the file is named in issues by its first (Danish) name.
        var names = schema.Select(c => c.Names[0]).ToArray();
        var problems = new List<string>();
        var expected = string.Join(table.Delimiter, schema.Select(c => c.Names[0]));
        for (var i = 0; i < header.Count; i++)
        {
            // Excel adds unnamed columns when cells right of the data were ever touched; their values are not used.
            if (header[i].Length == 0) continue;
            var key = Array.FindIndex(schema, c => c.Names.Contains(header[i], StringComparer.OrdinalIgnoreCase));
            if (key < 0) problems.Add($"The column '{header[i]}' is not one of this file's columns ({expected}, or their English names).");
            else if (columns[key] is { } earlier)
                problems.Add($"The columns '{header[earlier]}' and '{header[i]}' (columns {earlier + 1} and {i + 1}) give the same thing; keep one of them.");
            else (columns[key], names[key]) = (i, header[i]);
        }
        for (var key = 0; key < schema.Length; key++)
            if (schema[key].Required && columns[key] is null)
            {
                var others = schema[key].Names.Skip(1).Select(n => $"'{n}'").ToList();
                problems.Add($"The column '{schema[key].Names[0]}'{(others.Count > 0 ? $" (or {string.Join(", ", others)})" : "")} is missing; the header must name {expected}.");
            }
        if (problems.Count > 0) throw new CsvHeaderException(problems);
        return Rows(table, columns, names, issue, check);
    }

    private static IEnumerable<T> Rows<T>(CsvTable table, int?[] columns, string[] names, Action<RowIssue> issue, Func<RowIssues, Cells, T?> check) where T : class
    {
        var header = table.Header;
        foreach (var row in table.Rows())
        {
            var rowIssues = new RowIssues(row.Row, issue);
            if (row.Malformed is (var field, var reason)) rowIssues.Error(field, reason);
            else if (row.Fields.Length != header.Count)
                rowIssues.Error("row", $"has {row.Fields.Length} values but the header has {header.Count} columns; check for a missing or extra separator " +
                                       "(a value that contains one must be in double quotes)");
            else if (check(rowIssues, new Cells(row.Fields, columns, names)) is { } record) yield return record;
        }
    }
}
