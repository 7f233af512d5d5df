using System.Collections.Frozen;
using System.Text.RegularExpressions;
using Fluid;
using Fluid.Parser;
using Fluid.Values;

namespace DigitalPost.Domain.Letters;

/// <summary>Thrown when a template does not parse (Message says where, line and column, and what) or fails for a row.</summary>
public sealed class TemplateException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A letter template in Liquid, parsed once per batch and rendered once per recipient row.</summary>
/// <remarks>
/// The language is Liquid as Fluid implements it, with Fluid's standard filters, except what a letter cannot use or
/// must learn of at upload: <c>include</c> and <c>render</c> are unknown tags (a letter has no files to include), and
/// an unknown filter fails in <see cref="Parse"/> where Liquid would quietly print its input, so a sender's typo is
/// reported for the batch and not found in the letters. A merge field is a string (the CSV cell) as Liquid sees it:
/// an empty cell is an empty string, which is true in a condition; test it with <c>!= blank</c>.
/// </remarks>
public sealed partial class LetterTemplate
{
    /// <summary>Statements (outputs, text, assignments, loop iterations) one render may run: split fields looped inside
    /// each other must not hang a batch. About ten thousand iterations of a loop that prints a few things.</summary>
    public const int MaxSteps = 100_000;

    // Both are thread-safe once configured, and costly to build: one of each serves every template.
    private static readonly FluidParser Parser = CreateParser();

    private static readonly TemplateOptions Options = new()
    {
        MaxSteps = MaxSteps,
        ModelNamesComparer = StringComparer.OrdinalIgnoreCase,
        // Parse rejects unknown filters already; this keeps a render from skipping one should a statement hide it.
        StrictFilters = true,
    };

    private readonly IFluidTemplate _template;

    private LetterTemplate(IFluidTemplate template, TemplateFields fields)
    {
        _template = template;
        MergeFields = fields.Read.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        RequiredFields = fields.Printed.Where(MergeFields.Contains).ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    private static FluidParser CreateParser()
    {
        var parser = new FluidParser();
        parser.RegisteredTags.Remove("include");
        parser.RegisteredTags.Remove("render");
        return parser;
    }

    /// <exception cref="TemplateException">The template does not parse, or names a filter Fluid does not have.</exception>
    public static LetterTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        IFluidTemplate? template;
        try
        {
            template = Parser.Parse(source);
        }
        catch (ParseException e)
        {
            throw new TemplateException(WithPosition(e.Message) + DanishLetterHint(source), e);
        }
        if (template is not FluidTemplate parsed) throw new TemplateException("Line 1, column 1: the template does not parse.");

        var fields = TemplateFields.Of(parsed, source, name => Options.Filters.TryGetValue(name, out _));
        if (fields.UnknownFilter is { } unknown)
        {
            var (line, column) = LineAndColumn(source, unknown.Position);
            throw new TemplateException($"Line {line}, column {column}: Undefined filter '{unknown.Name}'.");
        }
        return new LetterTemplate(parsed, fields);
    }

    /// <summary>The merge fields the template reads: top-level variable names, e.g. <c>{{ navn }}</c>,
    /// <c>{{ beloeb | upcase }}</c>, <c>{% if forfaldsdato %}</c>; not loop variables or names assigned or captured
    /// before they are read. Case-insensitive.</summary>
    public IReadOnlySet<string> MergeFields { get; }

    /// <summary>The merge fields every letter prints: a row may not leave these empty. A field only tested in a
    /// condition, printed inside one or in a loop, or given a <c>default</c>, may be empty.</summary>
    public IReadOnlySet<string> RequiredFields { get; }

    /// <summary>Renders with one row's merge fields (keys case-insensitive); a missing field is nil and renders empty.
    /// Thread-safe. No HTML encoding: the output is text for a PDF.</summary>
    /// <exception cref="TemplateException">The template runs more than <see cref="MaxSteps"/> steps, or fails on this
    /// row's values (a division by zero, say).</exception>
    public string Render(IReadOnlyDictionary<string, string> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var context = new LetterContext(Options);
        foreach (var (name, value) in fields)
        {
            context.SetValue(name, new StringValue(value));
            // A column named "beløb" is printed as {{ beloeb }}: Liquid names are ASCII.
            if (AsciiName(name) is var ascii && ascii != name && !fields.ContainsKey(ascii)) context.SetValue(ascii, new StringValue(value));
        }
        try
        {
            return _template.Render(context, NullEncoder.Default, isolateContext: false);
        }
        catch (Exception e) when (context.OutOfSteps)
        {
            throw new TemplateException($"The template runs more than {MaxSteps:N0} steps for one letter; check its loops.", e);
        }
        // A template is code the sender wrote: whatever it throws for a row is that row's template error, not the platform's.
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new TemplateException($"The template fails for this row: {e.Message}", e);
        }
    }

    /// <summary>How a template names a column whose name holds a Danish letter: æ as ae, ø as oe, å as aa, as Danish is
    /// written where only ASCII will do (Liquid's names are ASCII).</summary>
    public static string AsciiName(string column) =>
        column.AsSpan().IndexOfAny("æøåÆØÅ") < 0 ? column
        : column.Replace("æ", "ae").Replace("ø", "oe").Replace("å", "aa").Replace("Æ", "Ae").Replace("Ø", "Oe").Replace("Å", "Aa");

    private static string DanishLetterHint(string source) =>
        source.AsSpan().IndexOfAny("æøåÆØÅ") < 0 ? ""
        : " Merge field names are ASCII: write æ as ae, ø as oe and å as aa (the column 'beløb' is {{ beloeb }}).";

    /// <summary>Fluid's parse errors end their first line in "at (line:column)"; a letter's say "Line L, column C: what."</summary>
    private static string WithPosition(string message)
    {
        var match = FluidPosition().Match(message);
        return match.Success
            ? $"Line {match.Groups["line"].Value}, column {match.Groups["column"].Value}: {match.Groups["what"].Value}."
            : $"Line 1, column 1: {message.Split('\n')[0]}";
    }

    [GeneratedRegex(@"^(?<what>.*?) at \((?<line>\d+):(?<column>\d+)\)")]
    private static partial Regex FluidPosition();

    private static (int Line, int Column) LineAndColumn(string source, int position)
    {
        var lineStart = position == 0 ? 0 : source.LastIndexOf('\n', position - 1) + 1;
        return (source.AsSpan(0, position).Count('\n') + 1, position - lineStart + 1);
    }

    /// <summary>Fluid signals a spent step budget with the same exception as other runaway templates; the count tells them apart.</summary>
    private sealed class LetterContext(TemplateOptions options) : TemplateContext(options)
    {
        public bool OutOfSteps => MaxSteps > 0 && _steps > MaxSteps;
    }
}
