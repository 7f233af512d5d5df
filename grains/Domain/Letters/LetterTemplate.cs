using System.Collections.Frozen;
using System.Text;

namespace DigitalPost.Domain.Letters;

/// <summary>Thrown when a template does not parse; Message says where (line, column) and what.</summary>
public sealed class TemplateException(string message) : Exception(message);

/// <summary>A letter template in Liquid, parsed once per batch and rendered once per recipient row.</summary>
/// <remarks>
/// The dialect is the part of Liquid a letter needs: <c>{{ field | filter: arg }}</c>, <c>if/elsif/else</c>, <c>unless</c>,
/// <c>for</c> (with <c>else</c>, <c>reversed</c>, <c>limit</c>, <c>offset</c>, <c>forloop</c>), <c>assign</c>, <c>capture</c>,
/// <c>comment</c>, <c>raw</c> and <c>{%- -%}</c> trimming. Anything else fails in <see cref="Parse"/>, not per recipient.
/// Two choices differ from Shopify Liquid because the output is plain text from CSV cells: a blank value is false in
/// conditions (a CSV cell is never nil), and a line holding nothing but one <c>{% tag %}</c> leaves no blank line behind.
/// Values compare as numbers when both sides are numbers (a decimal comma is accepted), otherwise as text.
/// </remarks>
public sealed class LetterTemplate
{
    private readonly IReadOnlyList<LiquidNode> _nodes;

    private LetterTemplate(IReadOnlyList<LiquidNode> nodes, IEnumerable<string> mergeFields)
    {
        _nodes = nodes;
        MergeFields = mergeFields.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        RequiredFields = nodes.SelectMany(n => n.AlwaysPrinted()).Where(MergeFields.Contains).ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <exception cref="TemplateException">The template does not parse.</exception>
    public static LetterTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var (nodes, fields) = LiquidParser.Parse(source);
        return new LetterTemplate(nodes, fields);
    }

    /// <summary>The merge fields the template reads: top-level variable names, e.g. <c>{{ navn }}</c>,
    /// <c>{{ beloeb | upcase }}</c>, <c>{% if forfaldsdato %}</c>; not loop variables or assigned names. Case-insensitive.</summary>
    public IReadOnlySet<string> MergeFields { get; }

    /// <summary>The merge fields every letter prints: a row may not leave these empty. A field only tested in a
    /// condition, printed inside one or in a loop, or given a <c>default</c>, may be empty.</summary>
    public IReadOnlySet<string> RequiredFields { get; }

    /// <summary>Renders with one row's merge fields (keys case-insensitive); a missing field renders empty. Thread-safe.
    /// No HTML encoding: the output is text for a PDF.</summary>
    /// <exception cref="TemplateException">The template loops more than 10,000 times in one render.</exception>
    public string Render(IReadOnlyDictionary<string, string> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var output = new StringBuilder();
        LiquidNode.RenderAll(_nodes, new LiquidScope(fields), output);
        return output.ToString();
    }
}
