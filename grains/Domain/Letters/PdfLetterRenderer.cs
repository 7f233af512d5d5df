using PdfSharp;
using PdfSharp.Drawing;
using PdfSharp.Pdf;

namespace DigitalPost.Domain.Letters;

/// <summary>Lays a letter out on A4 as a Danish letter for a window envelope. Holds no state: one instance serves
/// concurrent renders.</summary>
public sealed class PdfLetterRenderer
{
    private const double Mm = 72 / 25.4;
    private const double PageWidth = 210 * Mm, PageHeight = 297 * Mm;
    private const double Left = 25 * Mm, Right = PageWidth - 20 * Mm, Top = 20 * Mm, Bottom = PageHeight - 25 * Mm;
    // The address field of DIN 5008 form B, which Danish window envelopes (C5, C65) follow.
    private const double AddressTop = 50 * Mm, AddressWidth = 80 * Mm;
    private const double DateTop = 100 * Mm, TitleTop = 110 * Mm, FooterTop = PageHeight - 15 * Mm;

    // Danish month names spelled out here rather than taken from da-DK, so dates do not depend on the machine's ICU data.
    private static readonly string[] Months =
        ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober", "november", "december"];

    static PdfLetterRenderer() => LetterFontResolver.Install();

    public byte[] Render(LetterContent letter)
    {
        ArgumentNullException.ThrowIfNull(letter);
        using var document = new PdfDocument();
        document.Info.Title = letter.Title;
        document.Info.Author = letter.SenderName;
        document.Options.CompressContentStreams = true;

        using (var layout = new Layout(document))
        {
            layout.Letterhead(letter);
            layout.Body(letter.Body);
            layout.Footers();
        }

        using var output = new MemoryStream();
        document.Save(output);
        return output.ToArray();
    }

    public static string DanishDate(DateOnly date) => $"{date.Day}. {Months[date.Month - 1]} {date.Year}";

    /// <summary>One render's pages and fonts; the pages stay open until every footer knows the page count.</summary>
    private sealed class Layout(PdfDocument document) : IDisposable
    {
        // Unicode encoding writes a ToUnicode map, so æøå can be searched and copied from the PDF.
        private static readonly XPdfFontOptions Unicode = new(PdfFontEncoding.Unicode);

        private readonly XFont _text = new(LetterFontResolver.Family, 10, XFontStyleEx.Regular, Unicode);
        private readonly XFont _bold = new(LetterFontResolver.Family, 10, XFontStyleEx.Bold, Unicode);
        private readonly XFont _heading = new(LetterFontResolver.Family, 12, XFontStyleEx.Bold, Unicode);
        private readonly XFont _title = new(LetterFontResolver.Family, 13, XFontStyleEx.Bold, Unicode);
        private readonly XFont _footer = new(LetterFontResolver.Family, 8, XFontStyleEx.Regular, Unicode);
        private readonly List<XGraphics> _pages = [];
        private double _y;

        private XGraphics Page => _pages[^1];

        public void Letterhead(LetterContent letter)
        {
            NewPage();
            DrawRight(letter.SenderName, _bold, Top);
            var y = AddressTop;
            foreach (var line in letter.RecipientLines)
            {
                Page.DrawString(Fit(line, _text, AddressWidth), _text, XBrushes.Black, Left, y, XStringFormats.TopLeft);
                y += _text.GetHeight();
            }
            DrawRight(DanishDate(letter.Date), _text, DateTop);
            _y = TitleTop;
            foreach (var line in Wrap(letter.Title, _title)) Line(line, _title);
            _y += _text.GetHeight();
        }

        /// <summary>"# " starts a heading, a blank line ends a paragraph, every other line wraps to the page width.</summary>
        public void Body(string body)
        {
            var gap = false;
            foreach (var raw in body.ReplaceLineEndings("\n").Split('\n'))
            {
                var line = raw.Replace('\t', ' ').TrimEnd();
                if (line.Length == 0)
                {
                    gap = true;
                    continue;
                }

                var heading = line.StartsWith("# ", StringComparison.Ordinal);
                if ((gap || heading) && _y > Top) _y += _text.GetHeight() * 0.6;
                gap = false;
                // A heading at the foot of a page would be cut off from its text.
                if (heading && _y + _heading.GetHeight() + _text.GetHeight() > Bottom) NewPage();
                var font = heading ? _heading : _text;
                foreach (var wrapped in Wrap(heading ? line[2..].Trim() : line, font)) Line(wrapped, font);
                if (heading) _y += _text.GetHeight() * 0.3;
            }
        }

        public void Footers()
        {
            for (var i = 0; i < _pages.Count; i++)
            {
                var footer = $"Side {i + 1} af {_pages.Count}";
                var width = _pages[i].MeasureString(footer, _footer).Width;
                _pages[i].DrawString(footer, _footer, XBrushes.Black, (PageWidth - width) / 2, FooterTop, XStringFormats.TopLeft);
            }
        }

        public void Dispose()
        {
            foreach (var page in _pages) page.Dispose();
        }

        private void NewPage()
        {
            var page = document.AddPage();
            page.Size = PageSize.A4;
            _pages.Add(XGraphics.FromPdfPage(page));
            _y = Top;
        }

        private void Line(string text, XFont font)
        {
            if (_y + font.GetHeight() > Bottom) NewPage();
            Page.DrawString(text, font, XBrushes.Black, Left, _y, XStringFormats.TopLeft);
            _y += font.GetHeight();
        }

        private void DrawRight(string text, XFont font, double y)
        {
            text = Fit(text, font, Right - Left);
            Page.DrawString(text, font, XBrushes.Black, Right - Page.MeasureString(text, font).Width, y, XStringFormats.TopLeft);
        }

        private double Width(string text, XFont font) => Page.MeasureString(text, font).Width;

        /// <summary>Greedy word wrap; a word wider than the line is broken between characters, into lines that fit.</summary>
        private List<string> Wrap(string text, XFont font)
        {
            const double width = Right - Left;
            var lines = new List<string>();
            var space = Width(" ", font);
            var line = "";
            var lineWidth = 0.0;
            foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var wordWidth = Width(word, font);
                if (line.Length > 0 && lineWidth + space + wordWidth <= width)
                {
                    line += " " + word;
                    lineWidth += space + wordWidth;
                    continue;
                }
                if (line.Length > 0) lines.Add(line);
                (line, lineWidth) = (word, wordWidth);
                if (wordWidth <= width) continue;
                // The last piece of a broken word stays open for the words after it.
                var start = 0;
                for (int fits; start + (fits = Fitting(word, start, font, width, "")) < word.Length; start += fits)
                    lines.Add(word.Substring(start, fits));
                line = word[start..];
                lineWidth = Width(line, font);
            }
            if (line.Length > 0 || lines.Count == 0) lines.Add(line);
            return lines;
        }

        /// <summary><paramref name="text"/> if it fits, else its longest start that fits with an ellipsis.</summary>
        private string Fit(string text, XFont font, double width) =>
            Width(text, font) <= width ? text : text[..Fitting(text, 0, font, width, "…")] + "…";

        /// <summary>How many characters of <paramref name="text"/> from <paramref name="start"/> fit in
        /// <paramref name="width"/> followed by <paramref name="suffix"/>: at least one, so wrapping progresses, and
        /// never half a surrogate pair.</summary>
        /// <remarks>The length doubles while it fits and is then bisected, so no measured text is much longer than a
        /// line: breaking a word of n characters costs time in proportion to n, not n² (a 5 MB word took minutes).</remarks>
        private int Fitting(string text, int start, XFont font, double width, string suffix)
        {
            var rest = text.Length - start;
            bool Fits(int length) => Width(string.Concat(text.AsSpan(start, length), suffix), font) <= width;
            int fits = 0, fails = rest + 1;
            for (var probe = 1; fails == rest + 1 && fits < rest; probe = Math.Min(probe * 2, rest))
            {
                if (Fits(probe)) fits = probe;
                else fails = probe;
            }
            while (fails - fits > 1)
            {
                var middle = (fits + fails) / 2;
                if (Fits(middle)) fits = middle;
                else fails = middle;
            }
            if (fits == 0) fits = 1;
            if (char.IsHighSurrogate(text[start + fits - 1]) && fits < rest) fits += fits == 1 ? 1 : -1;
            return fits;
        }
    }
}
