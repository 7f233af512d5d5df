using System.Globalization;
using System.Text.RegularExpressions;

namespace DigitalPost.Domain.Letters;

/// <summary>Parses template source into nodes and notes the merge fields it reads; see <see cref="LetterTemplate"/> for the dialect.</summary>
internal sealed partial class LiquidParser
{
    // Deep enough for any letter, shallow enough that a hostile template cannot exhaust the stack.
    private const int MaxNesting = 64;

    private readonly string _source;
    private readonly List<Token> _tokens = [];
    private readonly HashSet<string> _fields = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _assigned = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _loopVariables = [];
    private readonly List<Token> _openBlocks = [];
    private int _next;
    private int _depth;

    private LiquidParser(string source) => _source = source;

    public static (IReadOnlyList<LiquidNode> Nodes, IReadOnlySet<string> Fields) Parse(string source)
    {
        var parser = new LiquidParser(source.ReplaceLineEndings("\n"));
        parser.Scan();
        var nodes = parser.ParseUntil(opener: null, [], out _);
        return (nodes, parser._fields);
    }

    private enum TokenKind { Text, Output, Tag }

    /// <summary>For text, <see cref="Markup"/> is the text; positions index the source, for error messages.</summary>
    private sealed record Token(TokenKind Kind, int Position, string Name, string Markup, int MarkupPosition);

    [GeneratedRegex(@"\{%(-?)\s*endraw\s*(-?)%\}")]
    private static partial Regex EndRaw();

    [GeneratedRegex(@"\{%(-?)\s*endcomment\s*(-?)%\}")]
    private static partial Regex EndComment();

    private void Scan()
    {
        var s = _source;
        var pos = 0;
        var trimNext = false;
        while (pos < s.Length)
        {
            var open = NextOpening(pos);
            if (open < 0)
            {
                AddText(pos, s.Length, trimNext, trimEnd: false);
                break;
            }

            var isTag = s[open + 1] == '%';
            var close = s.IndexOf(isTag ? "%}" : "}}", open + 2, StringComparison.Ordinal);
            if (close < 0) throw Error(open, isTag ? "'{%' is not closed by '%}'" : "'{{' is not closed by '}}'");
            int innerStart = open + 2, innerEnd = close, after = close + 2;
            var trimBefore = innerStart < innerEnd && s[innerStart] == '-';
            if (trimBefore) innerStart++;
            var trimAfter = innerEnd > innerStart && s[innerEnd - 1] == '-';
            if (trimAfter) innerEnd--;

            if (!isTag)
            {
                AddText(pos, open, trimNext, trimBefore);
                _tokens.Add(new Token(TokenKind.Output, open, "", s[innerStart..innerEnd], innerStart));
                (pos, trimNext) = (after, trimAfter);
                continue;
            }

            var (name, markupStart) = TagName(open, innerStart, innerEnd);
            var textEnd = open;
            if (Standalone(pos, open, after, out var lineStart, out var nextLine)) (textEnd, after) = (lineStart, nextLine);
            AddText(pos, textEnd, trimNext, trimBefore);
            (pos, trimNext) = (after, trimAfter);

            if (name is "raw" or "comment")
            {
                var end = (name == "raw" ? EndRaw() : EndComment()).Match(s, after);
                if (!end.Success) throw Error(open, $"'{name}' tag was never closed by {{% end{name} %}}");
                var contentEnd = end.Index;
                pos = end.Index + end.Length;
                if (Standalone(after, end.Index, pos, out lineStart, out nextLine)) (contentEnd, pos) = (lineStart, nextLine);
                if (name == "raw") AddText(after, contentEnd, trimNext, trimEnd: end.Groups[1].Length > 0);
                trimNext = end.Groups[2].Length > 0;
            }
            else if (name != "#")
            {
                _tokens.Add(new Token(TokenKind.Tag, open, name, s[markupStart..innerEnd], markupStart));
            }
        }
    }

    private int NextOpening(int from)
    {
        for (var i = _source.IndexOf('{', from); i >= 0 && i + 1 < _source.Length; i = _source.IndexOf('{', i + 1))
            if (_source[i + 1] is '{' or '%') return i;
        return -1;
    }

    private (string Name, int MarkupStart) TagName(int open, int from, int to)
    {
        while (from < to && char.IsWhiteSpace(_source[from])) from++;
        if (from < to && _source[from] == '#') return ("#", from + 1);
        var end = from;
        while (end < to && (char.IsAsciiLetterOrDigit(_source[end]) || _source[end] == '_')) end++;
        if (end == from) throw Error(open, "expected a tag name after '{%'");
        return (_source[from..end], end);
    }

    /// <summary>A tag alone on its line takes the whole line with it, so block tags leave no blank lines in the letter.</summary>
    private bool Standalone(int textStart, int open, int after, out int lineStart, out int nextLine)
    {
        lineStart = open == 0 ? 0 : _source.LastIndexOf('\n', open - 1) + 1;
        var lineEnd = _source.IndexOf('\n', after);
        nextLine = lineEnd < 0 ? _source.Length : lineEnd + 1;
        return lineStart >= textStart && IsBlank(lineStart, open) && IsBlank(after, lineEnd < 0 ? _source.Length : lineEnd);
    }

    private bool IsBlank(int from, int to)
    {
        for (var i = from; i < to; i++)
            if (_source[i] is not (' ' or '\t')) return false;
        return true;
    }

    private void AddText(int from, int to, bool trimStart, bool trimEnd)
    {
        if (to <= from) return;
        var text = _source[from..to];
        if (trimStart) text = text.TrimStart();
        if (trimEnd) text = text.TrimEnd();
        if (text.Length > 0) _tokens.Add(new Token(TokenKind.Text, from, "", text, from));
    }

    private List<LiquidNode> ParseUntil(Token? opener, string[] ends, out Token? end)
    {
        if (++_depth > MaxNesting) throw Error(opener!.Position, $"tags are nested more than {MaxNesting} deep");
        var nodes = new List<LiquidNode>();
        if (opener is not null) _openBlocks.Add(opener);
        while (_next < _tokens.Count)
        {
            var token = _tokens[_next++];
            switch (token.Kind)
            {
                case TokenKind.Text:
                    nodes.Add(new TextNode(token.Markup));
                    break;
                case TokenKind.Output:
                    nodes.Add(new OutputNode(Reader(token).Output()));
                    break;
                case TokenKind.Tag when ends.Contains(token.Name):
                    if (opener is not null) _openBlocks.RemoveAt(_openBlocks.Count - 1);
                    _depth--;
                    end = token;
                    return nodes;
                default:
                    nodes.Add(ParseTag(token));
                    break;
            }
        }
        if (opener is not null) throw Unclosed(opener);
        _depth--;
        end = null;
        return nodes;
    }

    private LiquidNode ParseTag(Token tag) => tag.Name switch
    {
        "if" => ParseConditional(tag, negated: false),
        "unless" => ParseConditional(tag, negated: true),
        "for" => ParseFor(tag),
        "assign" => ParseAssign(tag),
        "capture" => ParseCapture(tag),
        "else" or "elsif" => throw Error(tag.Position, $"'{tag.Name}' outside an if, unless or for"),
        // The end of an outer block means an inner one was left open: point at the inner one, where the fix goes.
        _ when _openBlocks.Any(open => "end" + open.Name == tag.Name) => throw Unclosed(_openBlocks[^1]),
        _ when tag.Name.StartsWith("end", StringComparison.Ordinal) => throw Error(tag.Position, $"'{tag.Name}' has no opening tag"),
        _ => throw Error(tag.Position, $"unknown tag '{tag.Name}'"),
    };

    private ConditionalNode ParseConditional(Token tag, bool negated)
    {
        string[] ends = ["elsif", "else", "end" + tag.Name];
        var branches = new List<(LiquidExpr?, bool, IReadOnlyList<LiquidNode>)>();
        var condition = Reader(tag).Condition();
        while (true)
        {
            var body = ParseUntil(tag, ends, out var end);
            branches.Add((condition, negated, body));
            if (end!.Name == "elsif")
            {
                (condition, negated) = (Reader(end).Condition(), false);
                continue;
            }
            if (end.Name == "else")
            {
                Reader(end).End();
                branches.Add((null, false, ParseUntil(tag, [ends[2]], out _)));
            }
            return new ConditionalNode(branches);
        }
    }

    private ForNode ParseFor(Token tag)
    {
        var reader = Reader(tag);
        var variable = reader.Identifier("a loop variable");
        reader.Word("in");
        var collection = reader.Primary();
        var reversed = false;
        LiquidExpr? limit = null, offset = null;
        while (!reader.AtEnd)
        {
            switch (reader.Identifier("reversed, limit: or offset:"))
            {
                case "reversed":
                    reversed = true;
                    break;
                case "limit":
                    reader.Symbol(":");
                    limit = reader.Primary();
                    break;
                case "offset":
                    reader.Symbol(":");
                    offset = reader.Primary();
                    break;
                case var other:
                    throw Error(tag.MarkupPosition, $"unknown for option '{other}'");
            }
        }

        _loopVariables.AddRange([variable, "forloop"]);
        var body = ParseUntil(tag, ["else", "endfor"], out var end);
        _loopVariables.RemoveRange(_loopVariables.Count - 2, 2);
        var empty = end!.Name == "else" ? ParseUntil(tag, ["endfor"], out _) : [];
        return new ForNode(variable, collection, reversed, limit, offset, body, empty);
    }

    private AssignNode ParseAssign(Token tag)
    {
        var reader = Reader(tag);
        var variable = reader.Identifier("a variable name");
        reader.Symbol("=");
        var value = reader.Filtered();
        reader.End();
        _assigned.Add(variable);
        return new AssignNode(variable, value);
    }

    private CaptureNode ParseCapture(Token tag)
    {
        var reader = Reader(tag);
        var variable = reader.Identifier("a variable name");
        reader.End();
        var body = ParseUntil(tag, ["endcapture"], out _);
        _assigned.Add(variable);
        return new CaptureNode(variable, body);
    }

    private void NoteRead(string variable)
    {
        if (!_assigned.Contains(variable) && !_loopVariables.Contains(variable, StringComparer.OrdinalIgnoreCase)) _fields.Add(variable);
    }

    private ExpressionReader Reader(Token token) => new(this, token.Markup, token.MarkupPosition);

    private TemplateException Unclosed(Token opener) => Error(opener.Position, $"'{opener.Name}' tag was never closed by {{% end{opener.Name} %}}");

    private TemplateException Error(int position, string what)
    {
        var line = _source.AsSpan(0, position).Count('\n') + 1;
        var column = position - (position == 0 ? 0 : _source.LastIndexOf('\n', position - 1) + 1) + 1;
        return new TemplateException($"Line {line}, column {column}: {what}.");
    }

    /// <summary>Reads the expression inside one <c>{{ }}</c> or tag.</summary>
    private sealed class ExpressionReader(LiquidParser parser, string text, int basePosition)
    {
        private static readonly string[] Comparisons = ["==", "!=", "<>", "<=", ">=", "<", ">"];
        private int _pos;

        public bool AtEnd
        {
            get
            {
                SkipSpace();
                return _pos >= text.Length;
            }
        }

        public LiquidExpr Output()
        {
            var value = Filtered();
            End();
            return value;
        }

        public LiquidExpr Condition()
        {
            var condition = Logical();
            End();
            return condition;
        }

        public void End()
        {
            if (!AtEnd) throw Expected("the end");
        }

        // As in Liquid, and/or have no precedence and group from the right: a and b or c is a and (b or c).
        private LiquidExpr Logical()
        {
            var left = Comparison();
            if (TryWord("and")) return new LogicalExpr(left, isAnd: true, Logical());
            if (TryWord("or")) return new LogicalExpr(left, isAnd: false, Logical());
            return left;
        }

        private LiquidExpr Comparison()
        {
            var left = Primary();
            foreach (var op in Comparisons)
                if (TrySymbol(op)) return new ComparisonExpr(left, op, Primary());
            return TryWord("contains") ? new ComparisonExpr(left, "contains", Primary()) : left;
        }

        public LiquidExpr Filtered()
        {
            var value = Primary();
            while (TrySymbol("|"))
            {
                SkipSpace();
                var at = basePosition + _pos;
                var name = Identifier("a filter name");
                var filter = LiquidFilters.Find(name) ?? throw parser.Error(at, $"unknown filter '{name}'");
                var arguments = new List<LiquidExpr>();
                if (TrySymbol(":"))
                {
                    do arguments.Add(Primary());
                    while (TrySymbol(","));
                }
                if (arguments.Count < filter.MinArguments || arguments.Count > filter.MaxArguments)
                {
                    var takes = filter.MinArguments == filter.MaxArguments ? $"{filter.MinArguments}" : $"{filter.MinArguments} to {filter.MaxArguments}";
                    throw parser.Error(at, $"filter '{name}' takes {takes} argument(s), not {arguments.Count}");
                }
                value = new FilterExpr(value, filter, arguments);
            }
            return value;
        }

        public LiquidExpr Primary()
        {
            SkipSpace();
            if (_pos < text.Length && text[_pos] is '"' or '\'') return new LiteralExpr(StringLiteral());
            if (_pos < text.Length && (char.IsAsciiDigit(text[_pos]) || text[_pos] == '-' && _pos + 1 < text.Length && char.IsAsciiDigit(text[_pos + 1])))
                return new LiteralExpr(Number());

            var name = Identifier("a value");
            switch (name)
            {
                case "true": return new LiteralExpr(true);
                case "false": return new LiteralExpr(false);
                case "nil" or "null": return new LiteralExpr(null);
                case "empty" or "blank": return new LiteralExpr(LiquidValues.Empty);
            }

            parser.NoteRead(name);
            var accessors = new List<LiquidExpr>();
            while (true)
            {
                if (TrySymbol(".")) accessors.Add(new LiteralExpr(Identifier("a property name")));
                else if (TrySymbol("["))
                {
                    accessors.Add(Primary());
                    Symbol("]");
                }
                else return new VariableExpr(name, accessors);
            }
        }

        public string Identifier(string expected)
        {
            SkipSpace();
            if (_pos >= text.Length || !(char.IsLetter(text[_pos]) || text[_pos] == '_')) throw Expected(expected);
            var start = _pos;
            while (++_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] is '_' or '-' or '?')) { }
            return text[start.._pos];
        }

        public void Word(string word)
        {
            if (!TryWord(word)) throw Expected($"'{word}'");
        }

        public void Symbol(string symbol)
        {
            if (!TrySymbol(symbol)) throw Expected($"'{symbol}'");
        }

        private bool TryWord(string word)
        {
            SkipSpace();
            var start = _pos;
            if (_pos < text.Length && char.IsLetter(text[_pos]) && Identifier(word) == word) return true;
            _pos = start;
            return false;
        }

        private bool TrySymbol(string symbol)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, _pos, symbol, 0, symbol.Length) != 0) return false;
            _pos += symbol.Length;
            return true;
        }

        private string StringLiteral()
        {
            var end = text.IndexOf(text[_pos], _pos + 1);
            if (end < 0) throw parser.Error(basePosition + _pos, "the string is not closed");
            var value = text[(_pos + 1)..end];
            _pos = end + 1;
            return value;
        }

        private decimal Number()
        {
            var start = _pos;
            if (text[_pos] == '-') _pos++;
            while (_pos < text.Length && char.IsAsciiDigit(text[_pos])) _pos++;
            if (_pos + 1 < text.Length && text[_pos] == '.' && char.IsAsciiDigit(text[_pos + 1]))
                while (++_pos < text.Length && char.IsAsciiDigit(text[_pos])) { }
            return decimal.TryParse(text.AsSpan(start, _pos - start), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint,
                CultureInfo.InvariantCulture, out var number) ? number : throw parser.Error(basePosition + start, "the number is too large");
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }

        private TemplateException Expected(string expected)
        {
            SkipSpace();
            var rest = text[_pos..].TrimEnd();
            var found = rest.Length == 0 ? "the end" : $"'{(rest.Length > 20 ? rest[..20] + "…" : rest)}'";
            return parser.Error(basePosition + _pos, $"expected {expected}, found {found}");
        }
    }
}
