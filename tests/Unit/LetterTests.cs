using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using DigitalPost.Domain.Letters;
using PdfSharp.Pdf;
using PdfSharp.Pdf.IO;

namespace DigitalPost.Tests.Unit;

public class LetterTemplateTests
{
    [Fact]
    public void Required_fields_are_those_printed_outside_conditions_loops_and_defaults()
    {
        var template = LetterTemplate.Parse(
            "{{ navn }} {{ beloeb | upcase }} {{ titel | default: 'Kære' }}\n{% if rate %}{{ rate }} {{ konto }}{% endif %}\n" +
            "{% for x in liste %}{{ x }}{% endfor %}{% capture c %}{{ adresse }}{% endcapture %}");

        Assert.Equal(["adresse", "beloeb", "navn"], template.RequiredFields.Order());
        Assert.Superset(new HashSet<string>(["rate", "konto", "titel", "liste"]), template.MergeFields.ToHashSet());
    }

    // An ordinal dictionary on purpose: the template must match field names case-insensitively all the same.
    private static string Render(string template, params (string Key, string Value)[] fields) =>
        LetterTemplate.Parse(template).Render(fields.ToDictionary(f => f.Key, f => f.Value));

    [Fact]
    public void Merge_fields_are_the_variables_read_by_outputs_filters_and_conditions()
    {
        var template = LetterTemplate.Parse("""
            Kære {{ navn }},
            Beløb: {{ beloeb | upcase }} {{ "kr." | append: valuta }}
            {% if forfaldsdato %}Betal senest {{ forfaldsdato }}.{% endif %}
            {% unless Afdeling == 'Skat' and kunde.type contains "firma" %}Privat{% endunless %}
            """);

        Assert.Equal(["Afdeling", "beloeb", "forfaldsdato", "kunde", "navn", "valuta"], template.MergeFields.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Merge_fields_leave_out_loop_variables_and_assigned_names_even_in_nested_loops()
    {
        var template = LetterTemplate.Parse("""
            {% assign linjer = adresse | split: ";" %}
            {% capture hilsen %}Hej {{ navn }}{% endcapture %}
            {% for linje in linjer %}{% for ord in linje %}{{ ord }}{{ forloop.index }}{{ linje }}{% endfor %}{% endfor %}
            {{ hilsen }}
            """);

        Assert.Equal(["adresse", "navn"], template.MergeFields.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Merge_fields_are_read_from_loop_bounds_indexes_and_filter_arguments_in_document_order()
    {
        var template = LetterTemplate.Parse("""
            {% for i in (1..antal) limit: maks %}{{ liste[i] }}{{ forloop.index }}{% endfor %}
            {{ a | append: b }}{% if x %}{% assign y = 1 %}{% endif %}{{ y }}
            {% tablerow t in raekker cols: 2 %}{{ t }}{{ tablerowloop.col }}{% endtablerow %}{% cycle c1, c2 %}
            """);

        Assert.Equal(["a", "antal", "b", "c1", "c2", "liste", "maks", "raekker", "x"], template.MergeFields.Order(StringComparer.Ordinal));
        Assert.Equal(["a"], template.RequiredFields);
    }

    [Fact]
    public void Merge_fields_compare_case_insensitively()
    {
        var template = LetterTemplate.Parse("{{ Navn }} {{ NAVN }}");

        Assert.Single(template.MergeFields);
        Assert.Contains("navn", template.MergeFields);
    }

    [Fact]
    public void A_field_read_before_it_is_assigned_is_a_merge_field()
    {
        Assert.Contains("navn", LetterTemplate.Parse("{% assign navn = navn | upcase %}{{ navn }}").MergeFields);
    }

    [Fact]
    public void Renders_danish_text_with_fields_matched_case_insensitively()
    {
        var text = Render("Kære {{ Navn }}, du skylder {{ beloeb }} kr. til {{ by | upcase }}.",
            ("navn", "Søren Ærøskøbing"), ("BELOEB", "1.234,50"), ("by", "Århus"));

        Assert.Equal("Kære Søren Ærøskøbing, du skylder 1.234,50 kr. til ÅRHUS.", text);
    }

    [Fact]
    public void A_field_name_is_ascii_as_in_fluid_so_a_danish_letter_in_it_is_an_error_at_upload_that_says_how_to_write_it()
    {
        var error = Assert.Throws<TemplateException>(() => LetterTemplate.Parse("Du skylder {{ beløb }} kr."));

        Assert.StartsWith("Line 1, column 18:", error.Message);
        Assert.Contains("{{ beloeb }}", error.Message);
    }

    [Fact]
    public void A_column_with_a_danish_letter_in_its_name_is_printed_by_its_ascii_name()
    {
        Assert.Equal("Du skylder 1.234,50 kr. til Århus.",
            Render("Du skylder {{ beloeb }} kr. til {{ BYNAVN_AAR }}.", ("beløb", "1.234,50"), ("bynavn_år", "Århus")));
        Assert.Equal("Kaerlig hilsen", LetterTemplate.AsciiName("Kærlig hilsen").Replace("ae", "ae"));
        Assert.Equal("navn", LetterTemplate.AsciiName("navn"));
    }

    [Fact]
    public void Does_not_html_encode()
    {
        Assert.Equal("<b>Smith & Søn</b> \"A/S\" 'x'", Render("{{ firma }}", ("firma", "<b>Smith & Søn</b> \"A/S\" 'x'")));
    }

    [Fact]
    public void A_missing_field_renders_empty_and_is_false()
    {
        var template = LetterTemplate.Parse("Hej {{ navn }}!{% if forfaldsdato %} Betal senest {{ forfaldsdato }}.{% endif %}");

        Assert.Equal("Hej !", template.Render(new Dictionary<string, string>()));
        Assert.Equal("Hej Bo! Betal senest 1. december 2026.",
            template.Render(new Dictionary<string, string> { ["navn"] = "Bo", ["forfaldsdato"] = "1. december 2026" }));
    }

    [Fact]
    public void A_blank_cell_is_an_empty_string_which_is_true_in_liquid_and_blank_tests_for_it()
    {
        Assert.Equal("[]", Render("{% if dato %}[{{ dato }}]{% else %}ingen dato{% endif %}", ("dato", "")));
        Assert.Equal("ingen dato", Render("{% if dato != blank %}[{{ dato }}]{% else %}ingen dato{% endif %}", ("dato", "")));
        Assert.Equal("ingen dato", Render("{% if dato != blank %}[{{ dato }}]{% else %}ingen dato{% endif %}", ("dato", "  ")));
        Assert.Equal("ukendt", Render("{{ dato | default: 'ukendt' }}", ("dato", "")));
    }

    [Theory]
    [InlineData("{{ x | downcase }}", "ÆØÅ ABC", "æøå abc")]
    [InlineData("{{ x | capitalize }}", "øSTERBRO", "ØSTERBRO")]
    [InlineData("{{ x | strip | prepend: '[' | append: ']' }}", "  a  ", "[a]")]
    [InlineData("{{ x | replace: 'a', 'å' | remove_first: 'b' }}", "abab", "ååb")]
    [InlineData("{{ x | truncate: 8 }}", "Strandvejen 12", "Stran...")]
    [InlineData("{{ x | truncate: 8, '…' }}", "Strandvejen 12", "Strandv…")]
    [InlineData("{{ x | split: ',' | join: ' og ' }}", "a,b,c", "a og b og c")]
    [InlineData("{{ x | split: ',' | last }} {{ x | size }} {{ x.size }}", "a,b,c", "c 5 5")]
    public void Filters_apply(string template, string value, string expected)
    {
        Assert.Equal(expected, Render(template, ("x", value)));
    }

    // A cell is a string, and Liquid compares a string with a number as text; plus: 0 makes it a number, reading a comma
    // as a thousands separator, so a Danish amount needs its comma made a point first.
    [Theory]
    [InlineData("1500,50", "over", "over")]
    [InlineData("999.99", "over", "under")]
    [InlineData("1000", "tekst", "lige")]
    [InlineData("ukendt", "over", "under")]
    public void Conditions_compare_a_cell_with_a_number_as_text_unless_the_template_makes_it_a_number(string amount, string asText, string asNumber)
    {
        const string comparison = """
            {%- if beloeb > 1000 -%}over
            {%- elsif beloeb == 1000 -%}lige
            {%- elsif beloeb < 1000 -%}under
            {%- else -%}tekst
            {%- endif -%}
            """;

        Assert.Equal(asText, Render(comparison, ("beloeb", amount)));
        Assert.Equal(asNumber, Render("{%- assign beloeb = beloeb | replace: ',', '.' | plus: 0 -%}" + comparison, ("beloeb", amount)));
    }

    [Fact]
    public void And_or_contains_and_unless_evaluate_as_in_liquid()
    {
        const string template = "{% if a == 'x' or b contains 'ø' and c != empty %}ja{% endif %}{% unless a %}nej{% endunless %}";

        Assert.Equal("ja", Render(template, ("a", "x"), ("b", ""), ("c", "")));
        Assert.Equal("ja", Render(template, ("a", "y"), ("b", "Køge"), ("c", "1")));
        Assert.Equal("", Render(template, ("a", "y"), ("b", "Køge"), ("c", "")));
        // A missing field is nil, and nil is not empty in Liquid (it is blank).
        Assert.Equal("janej", Render(template, ("b", "Køge")));
    }

    [Fact]
    public void Case_when_chooses_a_branch_and_a_field_printed_in_one_is_not_required()
    {
        var template = LetterTemplate.Parse(
            "{% case kanal %}{% when 'post', 'print' %}Brev til {{ adresse }}{% when 'mail' %}Mail{% else %}?{% endcase %} {{ navn }}");

        Assert.Equal("Brev til Vej 1 Bo", template.Render(new Dictionary<string, string> { ["kanal"] = "print", ["adresse"] = "Vej 1", ["navn"] = "Bo" }));
        Assert.Equal(["adresse", "kanal", "navn"], template.MergeFields.Order());
        Assert.Equal(["navn"], template.RequiredFields);
    }

    [Fact]
    public void Loops_over_a_split_field_with_forloop_reversed_limit_and_else()
    {
        var template = LetterTemplate.Parse(
            "{% assign dele = x | split: ';' %}{% for d in dele reversed limit: 2 %}{{ forloop.index }}={{ d }}{% unless forloop.last %}, {% endunless %}{% else %}tom{% endfor %}");

        Assert.Equal("1=b, 2=a", template.Render(new Dictionary<string, string> { ["x"] = "a;b;c" }));
        Assert.Equal("tom", template.Render(new Dictionary<string, string> { ["x"] = "" }));
    }

    [Fact]
    public void A_tag_alone_on_its_line_keeps_its_line_breaks_as_in_liquid_and_dashes_trim_them()
    {
        const string plain = "Kære {{ navn }}\n{% if gaeld %}\nDu skylder {{ gaeld }} kr.\n{% endif %}\n\nVenlig hilsen\n  {%- comment %} intern note {% endcomment %}\nKommunen";
        const string dashed = "Kære {{ navn }}\n{%- if gaeld %}\nDu skylder {{ gaeld }} kr.\n{%- endif %}\n\nVenlig hilsen\n  {%- comment %} intern note {% endcomment %}\nKommunen";

        Assert.Equal("Kære Bo\n\nDu skylder 100 kr.\n\n\nVenlig hilsen\nKommunen", Render(plain, ("navn", "Bo"), ("gaeld", "100")));
        Assert.Equal("Kære Bo\n\n\nVenlig hilsen\nKommunen", Render(plain, ("navn", "Bo")));
        Assert.Equal("Kære Bo\nDu skylder 100 kr.\n\nVenlig hilsen\nKommunen", Render(dashed, ("navn", "Bo"), ("gaeld", "100")));
        Assert.Equal("Kære Bo\n\nVenlig hilsen\nKommunen", Render(dashed, ("navn", "Bo")));
    }

    [Fact]
    public void The_sample_letter_gives_a_rate_line_only_to_a_row_with_a_rate()
    {
        var template = LetterTemplate.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "samples", "brev.liquid")));
        Dictionary<string, string> Row(string rate) => new() { ["aar"] = "2027", ["navn"] = "Bo", ["beloeb"] = "4.250,00", ["forfaldsdato"] = "01-03-2027", ["rate"] = rate };

        Assert.Contains("senest 01-03-2027.\n\nHar du", template.Render(Row("")).ReplaceLineEndings("\n"));
        Assert.Contains("senest 01-03-2027.\nDu har valgt at betale i rater: 350,00 kr. om måneden.\n\nHar du", template.Render(Row("350,00")).ReplaceLineEndings("\n"));
        Assert.Equal(["aar", "beloeb", "forfaldsdato", "navn"], template.RequiredFields.Order());
    }

    [Fact]
    public void Raw_keeps_liquid_syntax_as_text()
    {
        Assert.Equal("Skriv {{ navn }} i skabelonen.", Render("Skriv {% raw %}{{ navn }}{% endraw %} i skabelonen."));
    }

    // Where and what are Fluid's: the place it stopped understanding, which for a block left open is where it looked for the end.
    [Theory]
    [InlineData("Kære {{ navn }}\n\n{% if x %}\nabc", "Line 4, column 4", "'{% endif %}' was expected")]
    [InlineData("a\n{% for x in y %}\n{% if x %}{% endfor %}", "Line 3, column 11", "'{% endif %}' was expected")]
    [InlineData("a\nb {{ navn | upcse }}", "Line 2, column 13", "Undefined filter 'upcse'")]
    [InlineData("{% raw %}{{ x | Default: 1 }}{% endraw %}\n{{ navn | upcase | Default: 'x' }}", "Line 2, column 20", "Undefined filter 'Default'")]
    [InlineData("{% endif %}", "Line 1, column 9", "Unknown tag 'endif'")]
    [InlineData("x\r\ny\r\n{% case a %}", "Line 3, column 13", "'{% endcase %}' was expected")]
    [InlineData("Hej {{ navn", "Line 1, column 12", "End of tag '}}' was expected")]
    [InlineData("{{ 'abc }}", "Line 1, column 3", "A value was expected")]
    [InlineData("{% if a = 1 %}{% endif %}", "Line 1, column 6", "Invalid 'if' tag")]
    [InlineData("{% raw %}{{ x }}", "Line 1, column 7", "Not end tag found for {% raw %}")]
    [InlineData("Se {% include 'bilag' %}", "Line 1, column 14", "Unknown tag 'include'")]
    public void A_broken_template_says_where_and_what(string source, string where, string what)
    {
        var error = Assert.Throws<TemplateException>(() => LetterTemplate.Parse(source));

        Assert.StartsWith(where + ":", error.Message);
        Assert.Contains(what, error.Message);
    }

    [Fact]
    public void A_filter_given_more_arguments_than_it_takes_ignores_the_rest_as_fluid_does()
    {
        Assert.Equal("Bod.", Render("{{ navn | truncate: 4, '.', 3 }}", ("navn", "Bodil")));
    }

    [Fact]
    public void Loops_that_multiply_out_of_bounds_stop_with_an_error()
    {
        var template = LetterTemplate.Parse(
            "{% assign t = x | split: '' %}{% for a in t %}{% for b in t %}{% for c in t %}.{% endfor %}{% endfor %}{% endfor %}");

        Assert.Equal(27_000, template.Render(new Dictionary<string, string> { ["x"] = new('x', 30) }).Length);
        var error = Assert.Throws<TemplateException>(() => template.Render(new Dictionary<string, string> { ["x"] = new('x', 50) }));
        Assert.Contains("more than 100,000 steps", error.Message);
    }

    [Fact]
    public void A_row_the_template_fails_on_is_a_template_error()
    {
        var template = LetterTemplate.Parse("{{ beloeb | divided_by: rater }}");

        Assert.Equal("50", template.Render(new Dictionary<string, string> { ["beloeb"] = "100", ["rater"] = "2" }));
        Assert.Throws<TemplateException>(() => template.Render(new Dictionary<string, string> { ["beloeb"] = "100", ["rater"] = "0" }));
    }

    [Fact]
    public void One_parsed_template_renders_concurrently()
    {
        var template = LetterTemplate.Parse("{% assign n = navn | upcase %}{% for c in n %}{{ c }}{% endfor %}");

        Parallel.For(0, 200, i =>
            Assert.Equal($"NAVN{i}", template.Render(new Dictionary<string, string> { ["navn"] = $"navn{i}" })));
    }
}

public class LetterPdfTests
{
    private static readonly PdfLetterRenderer Renderer = new();

    private static LetterContent Letter(string body) => new(
        "Påmindelse om betaling af ejendomsskat",
        "Ærø Kommune",
        ["Søren Østergaard Ågesen", "Æblevej 7, 2. th.", "5970 Ærøskøbing"],
        new DateOnly(2026, 11, 23),
        body);

    private static string Paragraphs(int count) => string.Join("\n\n", Enumerable.Range(1, count).Select(i =>
        $"Afsnit {i}: Kommunen har registreret, at beløbet for ejendomsskat endnu ikke er betalt. Beløbet skal være indbetalt senest den 1. december."));

    private static PdfDocument Open(byte[] pdf) => PdfReader.Open(new MemoryStream(pdf), PdfDocumentOpenMode.Import);

    /// <summary>Each Type0 font on the pages: its base name, whether the font file is embedded, and its Unicode map.</summary>
    private static List<(string BaseFont, bool Embedded, string ToUnicode)> Fonts(PdfDocument pdf) =>
        pdf.Pages.Cast<PdfPage>()
            .SelectMany(page => page.Resources.Elements.GetDictionary("/Font") is { } fonts
                ? fonts.Elements.Keys.Select(key => fonts.Elements.GetDictionary(key)!)
                : [])
            .Select(font =>
            {
                var descriptor = font.Elements.GetArray("/DescendantFonts")?.Elements.GetDictionary(0)?.Elements.GetDictionary("/FontDescriptor");
                var toUnicode = font.Elements.GetDictionary("/ToUnicode")?.Stream.UnfilteredValue ?? [];
                return (font.Elements.GetName("/BaseFont"), descriptor?.Elements.GetDictionary("/FontFile2") is not null,
                    Encoding.ASCII.GetString(toUnicode));
            })
            .DistinctBy(f => f.Item1)
            .ToList();

    /// <summary>Whether a font's ToUnicode map (bfchar or bfrange entries) gives a glyph for <paramref name="c"/>.</summary>
    private static bool Maps(string toUnicode, char c) =>
        Regex.Matches(toUnicode, @"^<(?<from>[0-9A-Fa-f]{4})>(?:<(?<to>[0-9A-Fa-f]{4})>)?\s*<(?<unicode>[0-9A-Fa-f]{4})>$", RegexOptions.Multiline)
            .Where(m => m.Index > toUnicode.IndexOf("endcodespacerange", StringComparison.Ordinal))
            .Any(m =>
            {
                int Hex(string group) => int.Parse(m.Groups[group].Value, NumberStyles.HexNumber);
                var span = m.Groups["to"].Success ? Hex("to") - Hex("from") : 0;
                return c >= Hex("unicode") && c <= Hex("unicode") + span;
            });

    [Fact]
    public void Renders_an_a4_pdf_with_dejavu_embedded_for_the_danish_letters()
    {
        var pdf = Renderer.Render(Letter("Kære Søren\n\nÆbler, østers og ål: æøå ÆØÅ."));

        Assert.Equal("%PDF", Encoding.ASCII.GetString(pdf, 0, 4));
        using var document = Open(pdf);
        var page = Assert.Single(document.Pages.Cast<PdfPage>());
        Assert.Equal(595, page.Width.Point, 0);
        Assert.Equal(842, page.Height.Point, 0);
        var fonts = Fonts(document);
        Assert.Contains(fonts, f => f.BaseFont.EndsWith("+DejaVu Sans", StringComparison.Ordinal));
        Assert.Contains(fonts, f => f.BaseFont.EndsWith("+DejaVu Sans,Bold", StringComparison.Ordinal));
        Assert.All(fonts, f => Assert.True(f.Embedded, f.BaseFont));
        var regular = fonts.Single(f => f.BaseFont.EndsWith("+DejaVu Sans", StringComparison.Ordinal));
        Assert.All("æøåÆØÅ", c => Assert.True(Maps(regular.ToUnicode, c), $"'{c}' is not in the embedded regular font"));
    }

    [Fact]
    public void A_heading_is_drawn_bold_without_its_marker()
    {
        var pdf = Renderer.Render(Letter("# Quiz om zebraer\nBrødtekst.\n\n#ikke en overskrift"));

        using var document = Open(pdf);
        var fonts = Fonts(document);
        var bold = fonts.Single(f => f.BaseFont.EndsWith("+DejaVu Sans,Bold", StringComparison.Ordinal));
        var regular = fonts.Single(f => f.BaseFont.EndsWith("+DejaVu Sans", StringComparison.Ordinal));
        Assert.True(Maps(bold.ToUnicode, 'Q') && Maps(bold.ToUnicode, 'z'), "the heading is in the bold font");
        Assert.False(Maps(regular.ToUnicode, 'Q'), "the heading is not in the regular font");
        Assert.False(Maps(bold.ToUnicode, '#'), "the heading marker is not drawn");
        Assert.True(Maps(regular.ToUnicode, '#'), "'#' without a space is text");
    }

    [Fact]
    public void A_long_body_flows_onto_further_pages_in_proportion_to_its_length()
    {
        int Pages(int paragraphs)
        {
            using var document = Open(Renderer.Render(Letter(Paragraphs(paragraphs))));
            return document.PageCount;
        }

        var (one, many, twiceAsMany) = (Pages(1), Pages(200), Pages(400));

        Assert.Equal(1, one);
        Assert.True(many > 1, $"{many} pages");
        Assert.InRange(twiceAsMany, 2 * many - 2, 2 * many + 1);
    }

    [Fact]
    public void Words_wider_than_the_page_and_empty_letters_do_not_break_the_layout()
    {
        using var wide = Open(Renderer.Render(Letter(new string('Ø', 2_000) + " slut")));
        using var empty = Open(Renderer.Render(Letter("") with { Title = "", SenderName = "", RecipientLines = [] }));

        Assert.InRange(wide.PageCount, 1, 2);
        Assert.Equal(1, empty.PageCount);
    }

    [Fact]
    public void A_word_of_a_million_characters_is_broken_across_lines_and_pages_in_seconds()
    {
        var clock = Stopwatch.StartNew();
        using var tenth = Open(Renderer.Render(Letter(new string('W', 100_000))));
        var tenthTook = clock.Elapsed;
        clock.Restart();
        using var whole = Open(Renderer.Render(Letter(new string('W', 1_000_000) + " slut")));
        var wholeTook = clock.Elapsed;

        // Breaking used to measure the rest of the word for every line: 100,000 characters took 16 s, a million never ended.
        Assert.InRange(whole.PageCount, 9 * tenth.PageCount, 11 * tenth.PageCount);
        Assert.True(wholeTook < TimeSpan.FromSeconds(60), $"a million characters took {wholeTook}, 100,000 took {tenthTook}");
    }

    [Fact]
    public void Dates_are_written_in_danish()
    {
        Assert.Equal("23. november 2026", PdfLetterRenderer.DanishDate(new DateOnly(2026, 11, 23)));
        Assert.Equal("1. maj 2027", PdfLetterRenderer.DanishDate(new DateOnly(2027, 5, 1)));
    }

    [Fact]
    public void Renders_letters_concurrently_and_in_sequence_as_valid_pdfs()
    {
        var bodies = new[] { "Kort brev.", Paragraphs(3), Paragraphs(200) };

        var pdfs = RenderAll(bodies.Select(Letter).ToArray(), parallel: true);

        Assert.All(pdfs, pdf => Assert.Equal("%PDF", Encoding.ASCII.GetString(pdf, 0, 4)));
        var pages = pdfs.Select(pdf =>
        {
            using var document = Open(pdf);
            return document.PageCount;
        }).ToArray();
        Assert.Equal([1, 1], pages[..2]);
        Assert.True(pages[2] > 1, $"{pages[2]} pages");
        Assert.Equal(RenderAll([Letter("Kort brev.")], parallel: false)[0].Length, pdfs[0].Length, tolerance: 64);
    }

    /// <summary>Renders a handful of letters the way a batch would; a sanity check, not a timing.</summary>
    private static byte[][] RenderAll(LetterContent[] letters, bool parallel) => parallel
        ? letters.AsParallel().AsOrdered().Select(Renderer.Render).ToArray()
        : letters.Select(Renderer.Render).ToArray();
}
