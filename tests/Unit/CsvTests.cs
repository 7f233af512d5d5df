using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;

namespace DigitalPost.Tests.Unit;

public class CsvTests
{
    private static readonly string Cpr1 = CprTests.WithCheckDigit("150805400");
    private static readonly string Cpr2 = CprTests.WithCheckDigit("241075321");
    private static readonly string Cpr3 = CprTests.WithCheckDigit("120590111");
    private const string Cvr1 = "29585105";
    private const string Cvr2 = "55667780";
    private const string PNumber1 = "1003456789";

    private static readonly Encoding Utf8NoBom = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    public CsvTests() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    private static RecipientCsvReader Reader(string[]? mergeFields = null, Dictionary<string, long>? attachments = null, long commonBytes = 0) =>
        new(new HashSet<string>(mergeFields ?? []), name => attachments is not null && attachments.TryGetValue(name, out var size) ? size : null, commonBytes);

    private static List<RowResult> Read(string csv, string[]? mergeFields = null, Dictionary<string, long>? attachments = null, long commonBytes = 0) =>
        Reader(mergeFields, attachments, commonBytes).Read(new StringReader(csv)).ToList();

    private static BatchRow Accepted(RowResult result)
    {
        Assert.True(result.Accepted is not null, string.Join("; ", result.Issues));
        return result.Accepted;
    }

    /// <summary>The row's one issue, which must be an error that rejected the row.</summary>
    private static RowIssue RejectedBy(RowResult result, int row, string field, string reason)
    {
        Assert.Null(result.Accepted);
        Assert.Equal(row, result.Row);
        var issue = Assert.Single(result.Issues);
        Assert.Equal(IssueSeverity.Error, issue.Severity);
        Assert.Equal(row, issue.Row);
        Assert.Equal(field, issue.Field);
        Assert.Contains(reason, issue.Reason);
        return issue;
    }

    private sealed class NonSeekableStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream inner = new(bytes);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public bool Disposed { get; private set; }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 1000));
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) => Disposed = true;
    }

    [Fact]
    public void A_template_field_written_in_ascii_finds_the_column_with_the_danish_letter_and_an_empty_cell_in_it_is_reported_there()
    {
        var rows = Read($"cpr;navn;beløb\n{Cpr1};Søren;100,50\n{Cpr2};Åse;\n", ["navn", "beloeb"]);

        Assert.Equal("100,50", Accepted(rows[0]).Fields["beløb"]);
        RejectedBy(rows[1], 2, "beløb", "missing merge field");
    }

    // ---- Separators

    [Fact]
    public void A_semicolon_file_yields_rows_with_their_recipient_and_merge_fields()
    {
        var rows = Read($"cpr;navn;beløb\n{Cpr1};Søren Ærø;100,50\n{Cpr2};Åse Øster;7\n", ["navn"]);

        Assert.Equal(2, rows.Count);
        var first = Accepted(rows[0]);
        Assert.Equal(1, first.Row);
        Assert.Equal(RecipientKind.Cpr, first.Kind);
        Assert.Equal(Cpr1, first.RecipientId);
        Assert.Null(first.PNumber);
        Assert.Equal("Søren Ærø", first.Fields["navn"]);
        Assert.Equal("100,50", first.Fields["beløb"]);
        Assert.Equal("Søren Ærø", first.Fields["NAVN"]);
        Assert.False(first.Fields.ContainsKey("cpr"));
        Assert.Empty(rows[0].Issues);
        var second = Accepted(rows[1]);
        Assert.Equal(2, second.Row);
        Assert.Equal(Cpr2, second.RecipientId);
    }

    [Fact]
    public void A_comma_file_is_read_with_quoted_values_holding_commas()
    {
        var rows = Read($"cvr,navn,beløb\n{Cvr1},\"Hansen, Jensen & Co. A/S\",\"100,50\"\n");

        var row = Accepted(Assert.Single(rows));
        Assert.Equal(RecipientKind.Cvr, row.Kind);
        Assert.Equal(Cvr1, row.RecipientId);
        Assert.Equal("Hansen, Jensen & Co. A/S", row.Fields["navn"]);
        Assert.Equal("100,50", row.Fields["beløb"]);
    }

    [Fact]
    public void A_tab_separated_file_is_read()
    {
        var row = Accepted(Assert.Single(Read($"cpr\tnavn\n{Cpr1}\tSøren\n")));

        Assert.Equal("Søren", row.Fields["navn"]);
    }

    [Fact]
    public void A_quoted_value_may_hold_the_separator_and_doubled_quotes_and_is_trimmed()
    {
        var row = Accepted(Assert.Single(Read($" cpr ; navn ;note\n {Cpr1} ; \"Søren; \"\"Bo\"\" Ærø\" ;  x  \n", ["navn"])));

        Assert.Equal(Cpr1, row.RecipientId);
        Assert.Equal("Søren; \"Bo\" Ærø", row.Fields["navn"]);
        Assert.Equal("x", row.Fields["note"]);
    }

    [Theory]
    [InlineData("cpr;navn;adresse", ';')]
    [InlineData("cpr,navn,adresse", ',')]
    [InlineData("cpr\tnavn\tadresse", '\t')]
    [InlineData("\"navn, fulde, rigtige\";cpr", ';')]
    [InlineData("\"a;b;c\",cpr,navn", ',')]
    [InlineData("cpr", ';')]
    [InlineData("cpr;navn,fulde", ';')]
    public void The_separator_is_the_one_most_used_in_the_header_outside_quotes(string header, char expected)
    {
        Assert.Equal(expected, CsvText.DetectDelimiter(header));
    }

    [Fact]
    public void An_excel_sep_line_names_the_separator_and_is_not_a_row()
    {
        var row = Accepted(Assert.Single(Read($"sep=,\ncpr,navn;efternavn\n{Cpr1},Søren;Ærø\n")));

        Assert.Equal(1, row.Row);
        Assert.Equal("Søren;Ærø", row.Fields["navn;efternavn"]);
    }

    // ---- Encodings

    private const string DanishCsv = "cpr;navn;by\n1508054005;Søren Ærø;Århus\n2410753211;Åse Øster;Næstved\n";

    [Fact]
    public void Utf8_with_a_bom_is_read_without_the_bom()
    {
        byte[] bytes = [.. Encoding.UTF8.GetPreamble(), .. Utf8NoBom.GetBytes(DanishCsv)];

        using var reader = CsvText.Open(new MemoryStream(bytes));

        Assert.Equal(DanishCsv, reader.ReadToEnd());
    }

    [Fact]
    public void Utf8_without_a_bom_is_read_as_utf8()
    {
        using var reader = CsvText.Open(new MemoryStream(Utf8NoBom.GetBytes(DanishCsv)));

        Assert.Equal(DanishCsv, reader.ReadToEnd());
    }

    [Fact]
    public void Windows_1252_is_read_when_the_bytes_are_not_utf8()
    {
        var bytes = Encoding.GetEncoding(1252).GetBytes(DanishCsv);
        Assert.Equal(0xF8, bytes[DanishCsv.IndexOf('ø')]); // one byte per letter: not UTF-8

        using var reader = CsvText.Open(new MemoryStream(bytes));

        Assert.Equal(DanishCsv, reader.ReadToEnd());
    }

    [Fact]
    public void Windows_1252_letters_after_megabytes_of_ascii_in_a_non_seekable_stream_are_read_right()
    {
        // Past the 64 KB blocks read at a time and past the 4 MB kept in memory: the whole input decides.
        var text = new StringBuilder("cpr;navn\n");
        while (text.Length < 5_000_000) text.Append(Cpr1).Append(";Hans Hansen\n");
        text.Append(Cpr2).Append(";Søren Ærø\n");
        var stream = new NonSeekableStream(Encoding.GetEncoding(1252).GetBytes(text.ToString()));

        using (var reader = CsvText.Open(stream))
            Assert.Equal(text.ToString(), reader.ReadToEnd());
        Assert.True(stream.Disposed);
    }

    [Fact]
    public async Task OpenAsync_reads_a_non_seekable_windows_1252_stream()
    {
        var stream = new NonSeekableStream(Encoding.GetEncoding(1252).GetBytes(DanishCsv));

        using var reader = await CsvText.OpenAsync(stream, leaveOpen: true);

        Assert.Equal(DanishCsv, await reader.ReadToEndAsync());
        Assert.False(stream.Disposed);
    }

    [Fact]
    public void A_utf8_letter_split_between_two_read_blocks_is_still_utf8()
    {
        // 'ø' is two bytes in UTF-8; put them either side of the 64 KB block boundary.
        var text = new string('a', 64 * 1024 - 1) + "ø\n";

        using var reader = CsvText.Open(new NonSeekableStream(Utf8NoBom.GetBytes(text)));

        Assert.Equal(text, reader.ReadToEnd());
    }

    [Fact]
    public void A_utf8_file_cut_off_inside_a_letter_is_not_utf8()
    {
        byte[] bytes = [.. Utf8NoBom.GetBytes("cpr;navn\nx;S"), 0xC3];

        using var reader = CsvText.Open(new MemoryStream(bytes));

        Assert.Equal("cpr;navn\nx;SÃ", reader.ReadToEnd());
    }

    [Fact]
    public void Utf16_with_a_bom_is_read()
    {
        byte[] bytes = [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(DanishCsv)];

        using var reader = CsvText.Open(new MemoryStream(bytes));

        Assert.Equal(DanishCsv, reader.ReadToEnd());
    }

    [Theory]
    [InlineData("utf-8-bom")]
    [InlineData("utf-8")]
    [InlineData("windows-1252")]
    public void Danish_letters_reach_the_merge_fields_in_every_encoding(string encoding)
    {
        var csv = $"cpr;navn\n{Cpr1};Søren Ærø Åsen\n";
        byte[] bytes = encoding switch
        {
            "utf-8-bom" => [.. Encoding.UTF8.GetPreamble(), .. Utf8NoBom.GetBytes(csv)],
            "utf-8" => Utf8NoBom.GetBytes(csv),
            _ => Encoding.GetEncoding(1252).GetBytes(csv),
        };

        using var text = CsvText.Open(new MemoryStream(bytes));
        var row = Accepted(Assert.Single(Reader(["navn"]).Read(text)));

        Assert.Equal("Søren Ærø Åsen", row.Fields["navn"]);
        Assert.Equal(Cpr1, row.RecipientId);
    }

    [Fact]
    public void A_bom_left_in_the_text_does_not_spoil_the_first_column_name()
    {
        var row = Accepted(Assert.Single(Read($"\uFEFFcpr;navn\n{Cpr1};Søren\n")));

        Assert.Equal(Cpr1, row.RecipientId);
    }

    // ---- The header

    [Fact]
    public void A_header_without_a_recipient_column_rejects_the_file_at_once()
    {
        var reader = Reader();

        // No enumeration: the header is checked when Read is called.
        var error = Assert.Throws<CsvHeaderException>(() => reader.Read(new StringReader($"navn;by\nSøren;Århus\n")));

        var problem = Assert.Single(error.Problems);
        Assert.Contains("no recipient column", problem);
        Assert.Contains("'navn', 'by'", problem);
    }

    [Fact]
    public void A_column_named_twice_rejects_the_file()
    {
        var error = Assert.Throws<CsvHeaderException>(() => Read($"cpr;navn;Navn\n{Cpr1};a;b\n"));

        var problem = Assert.Single(error.Problems);
        Assert.Contains("'navn' appears 2 times (columns 2 and 3)", problem);
    }

    [Fact]
    public void Two_spellings_of_one_recipient_column_reject_the_file()
    {
        var error = Assert.Throws<CsvHeaderException>(() => Read($"cvr;pnummer;p-nummer\n{Cvr1};{PNumber1};{PNumber1}\n"));

        Assert.Contains("'pnummer' and 'p-nummer'", Assert.Single(error.Problems));
    }

    [Fact]
    public void A_merge_field_of_the_template_missing_from_the_columns_rejects_the_file()
    {
        var error = Assert.Throws<CsvHeaderException>(() => Read($"cpr;navn\n{Cpr1};Søren\n", ["navn", "beløb"]));

        var problem = Assert.Single(error.Problems);
        Assert.Contains("merge field 'beløb'", problem);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void Every_header_problem_is_reported_together()
    {
        var error = Assert.Throws<CsvHeaderException>(() => Read("navn;navn\n", ["beløb"]));

        Assert.Equal(3, error.Problems.Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n  \n\n")]
    public void An_empty_file_is_rejected(string csv)
    {
        var error = Assert.Throws<CsvHeaderException>(() => Read(csv));

        Assert.Contains("empty", Assert.Single(error.Problems));
    }

    [Fact]
    public void A_header_only_file_has_no_rows()
    {
        Assert.Empty(Read("cpr;navn\n"));
    }

    [Fact]
    public void A_file_without_its_header_row_is_refused_without_quoting_the_CPR_number_that_stands_there()
    {
        var error = Assert.Throws<CsvHeaderException>(() => Read($"{Cpr1};Søren\n"));

        Assert.Contains($"'{Cpr1[..6]}-XXXX'", Assert.Single(error.Problems));
        Assert.DoesNotContain(Cpr1, error.Message);
    }

    [Theory]
    [InlineData("c\0p\0r\0;\0n\0a\0v\0n\0", "NUL")]
    [InlineData(null, "longer than")]
    public void A_first_line_that_is_not_a_header_of_text_is_refused_without_reading_on(string? header, string reason)
    {
        // Without line breaks the whole file would be read as one line: the header stops at 65,536 characters.
        var csv = header ?? new string('x', 10_000_000);

        var error = Assert.Throws<CsvHeaderException>(() => Read(csv + "\n"));

        Assert.Contains(reason, Assert.Single(error.Problems));
    }

    [Fact]
    public void A_template_of_many_fields_against_the_wrong_file_is_one_problem_listing_twenty()
    {
        var fields = Enumerable.Range(0, 1000).Select(i => $"felt{i:D4}").ToArray();

        var error = Assert.Throws<CsvHeaderException>(() => Read($"cpr;navn\n{Cpr1};a\n", fields));

        var problem = Assert.Single(error.Problems);
        Assert.Contains("'felt0000', 'felt0001'", problem);
        Assert.Contains("and 980 more", problem);
        Assert.True(problem.Length < 1000, problem);
    }

    [Fact]
    public void A_value_over_10000_characters_rejects_its_row_naming_the_column_and_reading_continues()
    {
        var rows = Read($"cpr;navn;\n{Cpr1};{new string('A', 10_000)};\n{Cpr2};{new string('B', 10_001)};\n{Cpr3};c;{new string('C', 20_000)}\n{Cpr1};d;\n");

        Accepted(rows[0]);
        RejectedBy(rows[1], 2, "navn", "holds 10,001 characters; a value may hold at most 10,000");
        RejectedBy(rows[2], 3, "column 3", "20,000 characters");
        Accepted(rows[3]);
    }

    [Fact]
    public void A_row_longer_than_16_MB_ends_the_reading_with_an_error_instead_of_taking_the_rest_of_the_file_into_memory()
    {
        var csv = $"cpr;navn\n{Cpr1};a\n{Cpr2};\"{new string('x', 40 << 20)}\n{Cpr3};c\n";

        var rows = Reader().Read(new StreamReader(new MemoryStream(Utf8NoBom.GetBytes(csv)))).ToList();

        Assert.Equal(2, rows.Count);
        Accepted(rows[0]);
        RejectedBy(rows[1], 2, "row", "longer than 16 MB");
    }

    [Fact]
    public void Recipient_columns_are_merge_fields_only_when_the_template_uses_them()
    {
        var row = Accepted(Assert.Single(Read($"CPR;navn\n{Cpr1};Søren\n", ["cpr", "navn"])));

        Assert.Equal(Cpr1, row.Fields["cpr"]);
        Assert.Equal(2, row.Fields.Count);
    }

    // ---- Rows: numbering and structure

    [Fact]
    public void Rows_count_data_rows_from_1_skipping_blank_lines_and_empty_excel_rows()
    {
        var rows = Read($"\ncpr;navn\n\n{Cpr1};a\n;\n  \n{Cpr2};b\n;;\n");

        Assert.Equal([1, 2], rows.Select(r => r.Row));
        Assert.Equal([1, 2], rows.Select(r => Accepted(r).Row));
    }

    [Fact]
    public void A_bad_row_in_the_middle_does_not_stop_the_good_rows_after_it()
    {
        var rows = Read($"cpr;navn\n{Cpr1};a\n123;b\n{Cpr2};c\n{Cpr3};d\n");

        Assert.Equal(4, rows.Count);
        RejectedBy(rows[1], 2, "cpr", "10");
        Assert.Equal([Cpr1, Cpr2, Cpr3], rows.Where(r => r.Accepted is not null).Select(r => r.Accepted!.RecipientId));
        Assert.Equal([1, 3, 4], rows.Where(r => r.Accepted is not null).Select(r => r.Row));
    }

    [Fact]
    public void A_row_with_too_few_values_is_rejected_and_reading_continues()
    {
        var rows = Read($"cpr;navn;by\n{Cpr1};a\n{Cpr2};b;c\n");

        RejectedBy(rows[0], 1, "row", "has 2 values but the header has 3 columns");
        Assert.Equal(Cpr2, Accepted(rows[1]).RecipientId);
    }

    [Fact]
    public void A_row_with_too_many_values_is_rejected_and_reading_continues()
    {
        var rows = Read($"cpr;navn\n{Cpr1};Jensen; Søren\n{Cpr2};b\n");

        var issue = RejectedBy(rows[0], 1, "row", "has 3 values but the header has 2 columns");
        Assert.Contains("';'", issue.Reason);
        Assert.Equal(2, Accepted(rows[1]).Row);
    }

    [Fact]
    public void A_row_with_a_stray_quote_is_rejected_and_reading_continues()
    {
        var rows = Read($"cpr;navn\n{Cpr1};Søren \"Bo\" Ærø\n{Cpr2};b\n");

        RejectedBy(rows[0], 1, "row", "double quote");
        Assert.Equal(Cpr2, Accepted(rows[1]).RecipientId);
    }

    [Fact]
    public void A_quote_that_is_never_closed_rejects_its_row_and_says_the_rest_was_not_read()
    {
        var rows = Read($"cpr;navn\n{Cpr1};a\n{Cpr2};\"b\n{Cpr3};c\n");

        Assert.Equal(2, rows.Count);
        Accepted(rows[0]);
        RejectedBy(rows[1], 2, "row", "never closed");
    }

    [Fact]
    public void A_value_in_an_unnamed_column_is_a_warning()
    {
        var rows = Read($"cpr;navn;\n{Cpr1};a;\n{Cpr2};b;x\n");

        Assert.Empty(rows[0].Issues);
        Accepted(rows[1]);
        var issue = Assert.Single(rows[1].Issues);
        Assert.Equal(IssueSeverity.Warning, issue.Severity);
        Assert.Equal("column 3", issue.Field);
        Assert.Contains("no name", issue.Reason);
    }

    // ---- Rows: recipients

    [Fact]
    public void A_row_with_both_cpr_and_cvr_is_rejected()
    {
        RejectedBy(Read($"cpr;cvr\n{Cpr1};{Cvr1}\n")[0], 1, "row", "both 'cpr' and 'cvr' are filled in");
    }

    [Fact]
    public void A_row_without_a_recipient_is_rejected()
    {
        RejectedBy(Read($"cpr;cvr;navn\n{Cpr1};;a\n;;b\n")[1], 2, "row", "has no recipient; fill in cpr or cvr");
    }

    [Fact]
    public void A_malformed_cpr_number_is_rejected_without_echoing_it()
    {
        var rows = Read($"cpr;navn\n3102804001;a\n{Cpr1[..9]};b\n");

        var noDate = RejectedBy(rows[0], 1, "cpr", "'310280-XXXX' is not a CPR number: its first six digits are not a real date");
        Assert.DoesNotContain("3102804001", noDate.Reason);
        var short9 = RejectedBy(rows[1], 2, "cpr", "it has 9 digits");
        Assert.DoesNotContain(Cpr1[..9], short9.Reason);
    }

    [Fact]
    public void A_cpr_number_failing_modulus_11_is_a_warning_and_the_row_is_kept()
    {
        var cpr = CprTests.WithoutCheckDigit("150805400");

        var result = Assert.Single(Read($"cpr;navn\n{cpr[..6]}-{cpr[6..]};a\n"));

        Assert.Equal(cpr, Accepted(result).RecipientId);
        var issue = Assert.Single(result.Issues);
        Assert.Equal(IssueSeverity.Warning, issue.Severity);
        Assert.Equal(1, issue.Row);
        Assert.Equal("cpr", issue.Field);
        Assert.Contains("'150805-XXXX' fails the modulus-11 check", issue.Reason);
        Assert.DoesNotContain(cpr, issue.Reason);
    }

    [Fact]
    public void A_malformed_cvr_number_is_rejected()
    {
        RejectedBy(Read("CVR;navn\n12345678;a\n")[0], 1, "CVR", "'12345678' is not a CVR number");
    }

    [Fact]
    public void A_malformed_p_number_is_rejected()
    {
        RejectedBy(Read($"cvr;p-nummer\n{Cvr1};12345\n")[0], 1, "p-nummer", "'12345' is not a P-number (10 digits)");
    }

    [Fact]
    public void A_row_with_only_a_p_number_is_a_company_recipient_left_for_the_registry_lookup()
    {
        var row = Accepted(Assert.Single(Read($"cvr;pnummer\n;{PNumber1}\n")));

        Assert.Equal(RecipientKind.Cvr, row.Kind);
        Assert.Equal("", row.RecipientId);
        Assert.Equal(PNumber1, row.PNumber);
    }

    [Fact]
    public void A_cvr_number_may_be_narrowed_to_a_p_number()
    {
        var row = Accepted(Assert.Single(Read($"cvr;pnumber\n{Cvr1};{PNumber1}\n")));

        Assert.Equal((RecipientKind.Cvr, Cvr1, PNumber1), (row.Kind, row.RecipientId, row.PNumber));
    }

    [Fact]
    public void A_p_number_with_a_cpr_recipient_is_rejected()
    {
        RejectedBy(Read($"cpr;pnummer\n{Cpr1};{PNumber1}\n")[0], 1, "pnummer", "this row's recipient is a CPR number");
    }

    // ---- Rows: copies

    [Fact]
    public void Copies_are_cpr_and_cvr_numbers_separated_by_bars_or_spaces()
    {
        var row = Accepted(Assert.Single(Read($"cpr;kopi\n{Cpr1};{Cpr2}|{Cvr1}  {Cpr3[..6]}-{Cpr3[6..]} | {Cvr2}\n")));

        Assert.Equal([Cpr2, Cvr1, Cpr3, Cvr2], row.Copies);
    }

    [Fact]
    public void A_copy_entry_that_is_neither_cpr_nor_cvr_is_rejected()
    {
        RejectedBy(Read($"cpr;copy\n{Cpr1};{Cpr2}|12345\n")[0], 1, "copy", "copy recipient '12345' is neither a CPR number (10 digits) nor a CVR number (8 digits)");
    }

    [Fact]
    public void A_copy_to_a_malformed_cpr_number_is_rejected_without_echoing_it()
    {
        var issue = RejectedBy(Read($"cpr;kopi\n{Cpr1};3102804001\n")[0], 1, "kopi", "'310280-XXXX' is not a CPR number");

        Assert.DoesNotContain("3102804001", issue.Reason);
    }

    [Fact]
    public void A_copy_to_a_malformed_cvr_number_is_rejected()
    {
        RejectedBy(Read($"cpr;kopi\n{Cpr1};12345678\n")[0], 1, "kopi", "'12345678' is not a CVR number");
    }

    // ---- Rows: merge fields and dates

    [Fact]
    public void An_empty_merge_field_the_template_uses_rejects_the_row()
    {
        var rows = Read($"cpr;Navn;note\n{Cpr1};;\n{Cpr2};Åse;\n", ["navn"]);

        RejectedBy(rows[0], 1, "Navn", "missing merge field: the template uses 'navn'");
        Assert.Equal("", Accepted(rows[1]).Fields["note"]); // not used by the template, so it may be empty
    }

    [Theory]
    [InlineData("24-12-2026")]
    [InlineData("24.12.2026")]
    [InlineData("4/5/2026")]
    [InlineData("2026-12-24")]
    [InlineData("29-02-2028")]
    [InlineData("2026-1-5")]
    [InlineData("05.1.2026")]
    public void A_date_column_accepts_the_danish_and_iso_formats(string date)
    {
        var row = Accepted(Assert.Single(Read($"cpr;mødedato\n{Cpr1};{date}\n")));

        Assert.Equal(date, row.Fields["mødedato"]);
    }

    [Theory]
    [InlineData("30-02-2026")]
    [InlineData("29.02.2027")]
    [InlineData("31/4/2026")]
    [InlineData("2026-13-01")]
    [InlineData("0-12-2026")]
    [InlineData("24-00-2026")]
    public void A_date_that_does_not_exist_is_rejected(string date)
    {
        RejectedBy(Read($"cpr;Due Date\n{Cpr1};{date}\n")[0], 1, "Due Date", $"'{date}' is a date that does not exist");
    }

    [Theory]
    [InlineData("24-12-26")]
    [InlineData("24 december 2026")]
    [InlineData("12/24/2026 10:00")]
    [InlineData("24-12.2026")]
    [InlineData("124-12-2026")]
    [InlineData("24-12-20261")]
    [InlineData("2026-12-24-")]
    [InlineData("2026/12/24")]
    [InlineData("٢٤-١٢-٢٠٢٦")]
    public void A_value_that_is_no_date_in_a_date_column_is_rejected(string value)
    {
        RejectedBy(Read($"cpr;svarfrist dato\n{Cpr1};{value}\n")[0], 1, "svarfrist dato", $"'{value}' is not a date; write it as dd-MM-yyyy");
    }

    [Fact]
    public void Only_columns_named_for_dates_are_checked_as_dates()
    {
        Accepted(Assert.Single(Read($"cpr;note;datoer\n{Cpr1};30-02-2026;hello\n")));
    }

    // ---- Rows: attachments

    private static readonly Dictionary<string, long> Files = new() { ["a.pdf"] = 1000, ["b.pdf"] = 2000 };

    [Fact]
    public void Individual_attachments_are_filenames_separated_by_bars()
    {
        var row = Accepted(Assert.Single(Read($"cpr;bilag\n{Cpr1};a.pdf | b.pdf\n", attachments: Files)));

        Assert.Equal(["a.pdf", "b.pdf"], row.Attachments);
    }

    [Fact]
    public void An_unknown_attachment_filename_is_rejected()
    {
        var rows = Read($"cpr;attachment\n{Cpr1};a.pdf|c.pdf\n{Cpr2};A.PDF\n", attachments: Files);

        RejectedBy(rows[0], 1, "attachment", "no attachment named 'c.pdf' was uploaded");
        RejectedBy(rows[1], 2, "attachment", "no attachment named 'A.PDF' was uploaded");
    }

    [Fact]
    public void A_letter_over_the_size_limit_with_its_attachments_is_rejected_as_oversize()
    {
        var common = MessageRules.MaxMessageBytes - RecipientCsvReader.LetterMarginBytes - 1000;
        var files = new Dictionary<string, long> { ["fits.pdf"] = 1000, ["too-big.pdf"] = 1001 };

        var rows = Read($"cpr;bilag\n{Cpr1};fits.pdf\n{Cpr2};too-big.pdf\n", attachments: files, commonBytes: common);

        Assert.Equal(["fits.pdf"], Accepted(rows[0]).Attachments);
        RejectedBy(rows[1], 2, "bilag", "oversize message");
    }

    [Fact]
    public void Common_attachments_alone_over_the_limit_make_every_row_oversize()
    {
        var rows = Read($"cpr\n{Cpr1}\n{Cpr2}\n", commonBytes: MessageRules.MaxMessageBytes);

        RejectedBy(rows[0], 1, "row", "oversize message");
        RejectedBy(rows[1], 2, "row", "oversize message");
    }

    // ---- Several problems at once

    [Fact]
    public void A_row_reports_all_its_problems()
    {
        var result = Assert.Single(Read($"cpr;navn;bilag;frist dato\n123;;x.pdf;31-04-2026\n", ["navn"], Files));

        Assert.Null(result.Accepted);
        Assert.Equal(["bilag", "cpr", "frist dato", "navn"], result.Issues.Select(i => i.Field).Order());
        Assert.All(result.Issues, i => Assert.Equal(1, i.Row));
    }

    [Fact]
    public void No_reason_quotes_a_full_cpr_number()
    {
        var bad = CprTests.WithoutCheckDigit("241075321");
        var csv = $"cpr;kopi;bilag;note dato;navn\n" +
                  $"{bad};{bad}|3102804001;{bad}.pdf;{bad};\n" +
                  $"{bad};{Cpr2}\n" +
                  $"{bad}; \"{Cpr2}\" x;;;\n";

        var issues = Read(csv, ["navn"], Files).SelectMany(r => r.Issues).ToList();

        Assert.True(issues.Count >= 6, string.Join("\n", issues));
        foreach (var number in new[] { bad, Cpr2, "3102804001" })
            Assert.All(issues, i => Assert.DoesNotContain(number, i.Reason));
    }
}

public class CsvRegistryTests
{
    private static readonly string Cpr1 = CprTests.WithCheckDigit("150805400");
    private static readonly string Cpr2 = CprTests.WithCheckDigit("241075321");
    private static readonly string Cpr3 = CprTests.WithCheckDigit("120590111");

    public CsvRegistryTests() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    private static RowIssue SingleError(IReadOnlyList<RowIssue> issues, int row, string field, string reason)
    {
        var issue = Assert.Single(issues);
        Assert.Equal(IssueSeverity.Error, issue.Severity);
        Assert.Equal(row, issue.Row);
        Assert.Equal(field, issue.Field);
        Assert.Contains(reason, issue.Reason);
        return issue;
    }

    [Fact]
    public void Citizens_are_read_with_danish_columns()
    {
        var (citizens, issues) = RegistryCsv.ReadCitizens(new StringReader(
            $"cpr;navn;status;nemsms;vaerger;adresse\n" +
            $"{Cpr1};Søren Ærø;tilmeldt;ja;{Cpr2}|{Cpr3[..6]}-{Cpr3[6..]};Åvej 1|8000 Aarhus C\n" +
            $"{Cpr2};Åse;fritaget;nej;;\n"));

        Assert.Empty(issues);
        Assert.Equal(2, citizens.Count);
        var first = citizens[0];
        Assert.Equal((Cpr1, "Søren Ærø", RegistrationStatus.Registered, true), (first.Cpr, first.Name, first.Status, first.NemSms));
        Assert.Equal([Cpr2, Cpr3], first.Guardians);
        Assert.Equal(["Åvej 1", "8000 Aarhus C"], first.Address);
        Assert.Equal((RegistrationStatus.Exempt, false), (citizens[1].Status, citizens[1].NemSms));
        Assert.Empty(citizens[1].Guardians);
        Assert.Empty(citizens[1].Address);
    }

    [Theory]
    [InlineData("registered", RegistrationStatus.Registered, "yes", true)]
    [InlineData("Not-Yet-Confirmed", RegistrationStatus.NotYetConfirmed, "1", true)]
    [InlineData("afventer", RegistrationStatus.NotYetConfirmed, "true", true)]
    [InlineData("exempt", RegistrationStatus.Exempt, "no", false)]
    [InlineData("closed", RegistrationStatus.Closed, "0", false)]
    [InlineData("lukket", RegistrationStatus.Closed, "FALSE", false)]
    public void Citizens_are_read_with_english_columns_in_any_order(string status, RegistrationStatus expected, string nemSms, bool expectedNemSms)
    {
        var (citizens, issues) = RegistryCsv.ReadCitizens(new StringReader(
            $"name,nemsms,cpr,status,guardians,address\n\"Hansen, Hans\",{nemSms},{Cpr1},{status},,Vej 2\n"));

        Assert.Empty(issues);
        var citizen = Assert.Single(citizens);
        Assert.Equal(("Hansen, Hans", Cpr1, expected, expectedNemSms), (citizen.Name, citizen.Cpr, citizen.Status, citizen.NemSms));
        Assert.Equal(["Vej 2"], citizen.Address);
    }

    [Fact]
    public void Optional_citizen_columns_may_be_left_out()
    {
        var (citizens, issues) = RegistryCsv.ReadCitizens(new StringReader($"cpr;navn;status\n{Cpr1};a;tilmeldt\n"));

        Assert.Empty(issues);
        var citizen = Assert.Single(citizens);
        Assert.False(citizen.NemSms);
        Assert.Empty(citizen.Guardians);
    }

    [Fact]
    public void A_bad_status_is_an_issue_for_its_row_and_the_other_rows_are_kept()
    {
        var (citizens, issues) = RegistryCsv.ReadCitizens(new StringReader(
            $"cpr;navn;Status\n{Cpr1};a;tilmeldt\n{Cpr2};b;måske\n{Cpr3};c;lukket\n"));

        SingleError(issues, 2, "Status", "'måske' is not a status; write registered (tilmeldt)");
        Assert.Equal([Cpr1, Cpr3], citizens.Select(c => c.Cpr));
    }

    [Fact]
    public void A_bad_nemsms_value_is_an_issue()
    {
        var (citizens, issues) = RegistryCsv.ReadCitizens(new StringReader($"cpr;navn;status;nemsms\n{Cpr1};a;tilmeldt;måske\n"));

        SingleError(issues, 1, "nemsms", "'måske' is not yes or no");
        Assert.Empty(citizens);
    }

    [Fact]
    public void A_bad_citizen_cpr_number_is_an_issue_that_does_not_echo_it()
    {
        var (_, issues) = RegistryCsv.ReadCitizens(new StringReader("cpr;navn;status\n3102804001;a;tilmeldt\n"));

        var issue = SingleError(issues, 1, "cpr", "'310280-XXXX' is not a CPR number");
        Assert.DoesNotContain("3102804001", issue.Reason);
    }

    [Fact]
    public void A_bad_guardian_cpr_number_is_an_issue()
    {
        var (citizens, issues) = RegistryCsv.ReadCitizens(new StringReader($"cpr;navn;status;værger\n{Cpr1};a;tilmeldt;{Cpr2}|310280400\n"));

        SingleError(issues, 1, "værger", "a guardian is not a CPR number: it has 9 digits");
        Assert.Empty(citizens);
    }

    [Fact]
    public void A_citizen_cpr_failing_modulus_11_is_a_warning_and_the_citizen_is_kept()
    {
        var cpr = CprTests.WithoutCheckDigit("150805400");

        var (citizens, issues) = RegistryCsv.ReadCitizens(new StringReader($"cpr;navn;status\n{cpr};a;tilmeldt\n"));

        Assert.Equal(cpr, Assert.Single(citizens).Cpr);
        var issue = Assert.Single(issues);
        Assert.Equal((IssueSeverity.Warning, 1, "cpr"), (issue.Severity, issue.Row, issue.Field));
    }

    [Fact]
    public void A_citizen_listed_twice_is_an_issue_on_the_second_row()
    {
        var (citizens, issues) = RegistryCsv.ReadCitizens(new StringReader(
            $"cpr;navn;status\n{Cpr1};a;tilmeldt\n{Cpr1[..6]}-{Cpr1[6..]};b;tilmeldt\n"));

        SingleError(issues, 2, "cpr", "is already in row 1");
        Assert.Equal("a", Assert.Single(citizens).Name);
    }

    [Fact]
    public void A_file_read_as_it_is_enumerated_reports_each_rows_issues_as_it_goes_and_finds_repeats_anywhere_further_down()
    {
        // Enough numbers that the table of first rows grows a few times.
        var cprs = Enumerable.Range(0, 3_300).Select(i => Cpr.WithCheckDigit($"{i % 28 + 1:D2}{i % 12 + 1:D2}{50 + i % 50:D2}0{i / 100:D2}")).OfType<string>().ToList();
        var rows = cprs.Select((cpr, i) => i == 3 ? $"{cpr};;tilmeldt" : $"{cpr};Borger {i};tilmeldt")
            .Append($"{cprs[1_234]};Igen;tilmeldt").Append($"{cprs[3]};Nu med navn;tilmeldt").Append($"{cprs[0]};Igen;tilmeldt");
        var issues = new List<RowIssue>();

        var citizens = RegistryCsv.ReadCitizens(new StringReader("cpr;navn;status\n" + string.Join("\n", rows)), issues.Add);

        Assert.Empty(issues);
        using var reading = citizens.GetEnumerator();
        var all = new List<Citizen>();
        while (all.Count < 3 && reading.MoveNext()) all.Add(reading.Current);
        Assert.Empty(issues);
        while (reading.MoveNext()) all.Add(reading.Current);
        // Row 4 had no name: the same citizen listed correctly further down is no repeat.
        Assert.Equal([.. cprs.Where((_, i) => i != 3), cprs[3]], all.Select(c => c.Cpr));
        Assert.Equal([(4, "navn", ""), (cprs.Count + 1, "cpr", "is already in row 1235"), (cprs.Count + 3, "cpr", "is already in row 1")],
            issues.Select(i => (i.Row, i.Field, i.Reason.Contains("is already") ? i.Reason[i.Reason.IndexOf("is already", StringComparison.Ordinal)..i.Reason.IndexOf(';')] : "")));
    }

    [Fact]
    public void A_citizen_without_a_name_is_an_issue()
    {
        var (_, issues) = RegistryCsv.ReadCitizens(new StringReader($"cpr;name;status\n{Cpr1};;tilmeldt\n"));

        SingleError(issues, 1, "name", "is empty");
    }

    [Fact]
    public void A_citizen_row_with_the_wrong_number_of_values_is_an_issue()
    {
        var (citizens, issues) = RegistryCsv.ReadCitizens(new StringReader($"cpr;navn;status\n{Cpr1};a\n{Cpr2};b;tilmeldt\n"));

        SingleError(issues, 1, "row", "has 2 values but the header has 3 columns");
        Assert.Equal(Cpr2, Assert.Single(citizens).Cpr);
    }

    [Fact]
    public void A_citizen_file_without_a_required_column_is_rejected()
    {
        var error = Assert.Throws<CsvHeaderException>(() => RegistryCsv.ReadCitizens(new StringReader($"cpr;navn\n{Cpr1};a\n")));

        Assert.Contains("'status' is missing", Assert.Single(error.Problems));
    }

    [Fact]
    public void A_citizen_file_with_an_unknown_column_is_rejected()
    {
        var error = Assert.Throws<CsvHeaderException>(() => RegistryCsv.ReadCitizens(new StringReader($"cpr;navn;status;vearger\n{Cpr1};a;tilmeldt;\n")));

        Assert.Contains("'vearger' is not one of this file's columns", Assert.Single(error.Problems));
    }

    [Fact]
    public void A_windows_1252_citizen_file_is_read_from_a_stream()
    {
        var bytes = Encoding.GetEncoding(1252).GetBytes($"cpr;navn;status\n{Cpr1};Søren Ærø;tilmeldt\n");

        var (citizens, issues) = RegistryCsv.ReadCitizens(new MemoryStream(bytes));

        Assert.Empty(issues);
        Assert.Equal("Søren Ærø", Assert.Single(citizens).Name);
    }

    [Fact]
    public void Companies_are_read_with_danish_columns()
    {
        var (companies, issues) = RegistryCsv.ReadCompanies(new StringReader(
            "cvr;navn;postkasse;pnumre;adresse\n" +
            "29585105;Ærø Fisk ApS;aktiv;1003456789|1003456790;Havnen 1|5970 Ærøskøbing\n" +
            "55667780;Lukket A/S;lukket;;\n"));

        Assert.Empty(issues);
        Assert.Equal(2, companies.Count);
        var first = companies[0];
        Assert.Equal(("29585105", "Ærø Fisk ApS", true), (first.Cvr, first.Name, first.MailboxActive));
        Assert.Equal(["1003456789", "1003456790"], first.PNumbers);
        Assert.Equal(["Havnen 1", "5970 Ærøskøbing"], first.Address);
        Assert.False(companies[1].MailboxActive);
        Assert.Empty(companies[1].PNumbers);
    }

    [Fact]
    public void Companies_are_read_with_english_columns()
    {
        var (companies, issues) = RegistryCsv.ReadCompanies(new StringReader(
            "name,cvr,mailbox,pnumbers,address\nA,29585105,active,,Road 1\nB,55667780,Closed,,\n"));

        Assert.Empty(issues);
        Assert.Equal([true, false], companies.Select(c => c.MailboxActive));
    }

    [Fact]
    public void A_bad_mailbox_state_is_an_issue_for_its_row()
    {
        var (companies, issues) = RegistryCsv.ReadCompanies(new StringReader(
            "cvr;navn;postkasse\n29585105;A;aktiv\n55667780;B;åben\n"));

        SingleError(issues, 2, "postkasse", "'åben' is not a mailbox state");
        Assert.Equal("29585105", Assert.Single(companies).Cvr);
    }

    [Fact]
    public void A_bad_p_number_is_an_issue()
    {
        var (companies, issues) = RegistryCsv.ReadCompanies(new StringReader(
            "cvr;navn;postkasse;pnumre\n29585105;A;aktiv;1003456789|12345\n"));

        SingleError(issues, 1, "pnumre", "'12345' is not a P-number");
        Assert.Empty(companies);
    }

    [Fact]
    public void A_bad_cvr_number_is_an_issue()
    {
        var (_, issues) = RegistryCsv.ReadCompanies(new StringReader("cvr;navn;postkasse\n12345678;A;aktiv\n"));

        SingleError(issues, 1, "cvr", "'12345678' is not a CVR number");
    }
}
