using System.Globalization;
using System.Text;

namespace DigitalPost.Domain.Letters;

// The parsed template: immutable nodes and expressions, so one parse serves concurrent renders.

internal abstract class LiquidNode
{
    public abstract void Render(LiquidScope scope, StringBuilder output);

    /// <summary>Merge fields this node prints whatever the row holds: not under a condition or loop, not behind a
    /// <c>default</c> filter. An empty value there leaves a gap in every letter.</summary>
    public virtual IEnumerable<string> AlwaysPrinted() => [];

    public static void RenderAll(IReadOnlyList<LiquidNode> nodes, LiquidScope scope, StringBuilder output)
    {
        foreach (var node in nodes) node.Render(scope, output);
    }
}

internal sealed class TextNode(string text) : LiquidNode
{
    public override void Render(LiquidScope scope, StringBuilder output) => output.Append(text);
}

internal sealed class OutputNode(LiquidExpr value) : LiquidNode
{
    public override void Render(LiquidScope scope, StringBuilder output) => output.Append(LiquidValues.ToText(value.Evaluate(scope)));

    public override IEnumerable<string> AlwaysPrinted() => PrintedVariable(value) is { } name ? [name] : [];

    private static string? PrintedVariable(LiquidExpr expr) => expr switch
    {
        VariableExpr variable => variable.Name,
        FilterExpr filter when filter.FilterName != "default" => PrintedVariable(filter.Input),
        _ => null,
    };
}

/// <summary>if/elsif/else and unless: the first branch whose condition holds renders; a null condition is else.</summary>
internal sealed class ConditionalNode(IReadOnlyList<(LiquidExpr? Condition, bool Negated, IReadOnlyList<LiquidNode> Body)> branches) : LiquidNode
{
    public override void Render(LiquidScope scope, StringBuilder output)
    {
        foreach (var (condition, negated, body) in branches)
        {
            if (condition is null || LiquidValues.IsTruthy(condition.Evaluate(scope)) != negated)
            {
                RenderAll(body, scope, output);
                return;
            }
        }
    }
}

internal sealed class ForNode(string variable, LiquidExpr collection, bool reversed, LiquidExpr? limit, LiquidExpr? offset,
    IReadOnlyList<LiquidNode> body, IReadOnlyList<LiquidNode> empty) : LiquidNode
{
    public override void Render(LiquidScope scope, StringBuilder output)
    {
        IEnumerable<object?> items = LiquidValues.ToList(collection.Evaluate(scope));
        if (offset is not null && LiquidValues.TryInt(offset.Evaluate(scope), out var skip)) items = items.Skip(skip);
        if (limit is not null && LiquidValues.TryInt(limit.Evaluate(scope), out var take)) items = items.Take(take);
        var list = items.ToList();
        if (reversed) list.Reverse();
        if (list.Count == 0)
        {
            RenderAll(empty, scope, output);
            return;
        }

        scope.Push();
        try
        {
            for (var i = 0; i < list.Count; i++)
            {
                scope.CountIteration();
                scope.SetLocal(variable, list[i]);
                scope.SetLocal("forloop", new Dictionary<string, object?>
                {
                    ["index"] = (decimal)(i + 1), ["index0"] = (decimal)i, ["rindex"] = (decimal)(list.Count - i),
                    ["rindex0"] = (decimal)(list.Count - i - 1), ["first"] = i == 0, ["last"] = i == list.Count - 1,
                    ["length"] = (decimal)list.Count,
                });
                RenderAll(body, scope, output);
            }
        }
        finally
        {
            scope.Pop();
        }
    }
}

internal sealed class AssignNode(string variable, LiquidExpr value) : LiquidNode
{
    public override void Render(LiquidScope scope, StringBuilder output) => scope.Assign(variable, value.Evaluate(scope));
}

internal sealed class CaptureNode(string variable, IReadOnlyList<LiquidNode> body) : LiquidNode
{
    public override IEnumerable<string> AlwaysPrinted() => body.SelectMany(n => n.AlwaysPrinted());

    public override void Render(LiquidScope scope, StringBuilder output)
    {
        var captured = new StringBuilder();
        RenderAll(body, scope, captured);
        scope.Assign(variable, captured.ToString());
    }
}

internal abstract class LiquidExpr
{
    public abstract object? Evaluate(LiquidScope scope);
}

internal sealed class LiteralExpr(object? value) : LiquidExpr
{
    public override object? Evaluate(LiquidScope scope) => value;
}

/// <summary>A variable and its accessors: <c>a.b</c> is the accessor "b", <c>a[i]</c> the accessor i.</summary>
internal sealed class VariableExpr(string name, IReadOnlyList<LiquidExpr> accessors) : LiquidExpr
{
    public string Name => name;

    public override object? Evaluate(LiquidScope scope)
    {
        var value = scope.Lookup(name);
        foreach (var accessor in accessors) value = LiquidValues.Member(value, accessor.Evaluate(scope));
        return value;
    }
}

internal sealed class FilterExpr(LiquidExpr input, LiquidFilter filter, IReadOnlyList<LiquidExpr> arguments) : LiquidExpr
{
    public LiquidExpr Input => input;
    public string FilterName => filter.Name;

    public override object? Evaluate(LiquidScope scope) =>
        filter.Apply(input.Evaluate(scope), arguments.Select(a => a.Evaluate(scope)).ToArray());
}

internal sealed class ComparisonExpr(LiquidExpr left, string op, LiquidExpr right) : LiquidExpr
{
    public override object? Evaluate(LiquidScope scope)
    {
        object? l = left.Evaluate(scope), r = right.Evaluate(scope);
        return op switch
        {
            "==" => LiquidValues.AreEqual(l, r),
            "!=" or "<>" => !LiquidValues.AreEqual(l, r),
            "contains" => LiquidValues.Contains(l, r),
            _ => LiquidValues.Compare(l, r) is { } c && op switch { "<" => c < 0, ">" => c > 0, "<=" => c <= 0, _ => c >= 0 },
        };
    }
}

internal sealed class LogicalExpr(LiquidExpr left, bool isAnd, LiquidExpr right) : LiquidExpr
{
    public override object? Evaluate(LiquidScope scope) => isAnd
        ? LiquidValues.IsTruthy(left.Evaluate(scope)) && LiquidValues.IsTruthy(right.Evaluate(scope))
        : LiquidValues.IsTruthy(left.Evaluate(scope)) || LiquidValues.IsTruthy(right.Evaluate(scope));
}

/// <summary>One render's variables: the row's merge fields under a stack of frames for assigns and loop variables.</summary>
internal sealed class LiquidScope(IReadOnlyDictionary<string, string> fields)
{
    /// <summary>Loop iterations one render may run: split fields looped inside each other must not hang a batch.</summary>
    public const int MaxIterations = 10_000;

    private readonly List<Dictionary<string, object?>> _frames = [new(StringComparer.OrdinalIgnoreCase)];
    private int _iterations;

    public object? Lookup(string name)
    {
        for (var i = _frames.Count - 1; i >= 0; i--)
            if (_frames[i].TryGetValue(name, out var local)) return local;
        if (fields.TryGetValue(name, out var value)) return value;
        // The caller's dictionary may compare keys exactly; merge fields are case-insensitive all the same.
        foreach (var (key, v) in fields)
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) return v;
        return null;
    }

    /// <summary>Liquid's assign is global to the template, even inside a loop.</summary>
    public void Assign(string name, object? value) => _frames[0][name] = value;

    public void SetLocal(string name, object? value) => _frames[^1][name] = value;

    public void Push() => _frames.Add(new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase));

    public void Pop() => _frames.RemoveAt(_frames.Count - 1);

    public void CountIteration()
    {
        if (++_iterations > MaxIterations) throw new TemplateException($"The template loops more than {MaxIterations} times.");
    }
}

/// <summary>Values are null, string, decimal, bool, lists (from split) and forloop's dictionary.</summary>
internal static class LiquidValues
{
    /// <summary>Stands for Liquid's <c>empty</c> and <c>blank</c>, which equal any empty value.</summary>
    public static readonly object Empty = new();

    public static string ToText(object? value) => value switch
    {
        null => "",
        string s => s,
        decimal d => d.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IReadOnlyList<object?> list => string.Concat(list.Select(ToText)),
        _ => "",
    };

    public static bool IsTruthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        string s => !string.IsNullOrWhiteSpace(s),
        IReadOnlyList<object?> list => list.Count > 0,
        _ => value != Empty,
    };

    public static IReadOnlyList<object?> ToList(object? value) => value switch
    {
        IReadOnlyList<object?> list => list,
        null => [],
        string s when string.IsNullOrEmpty(s) => [],
        _ => [value],
    };

    public static object? Member(object? value, object? key)
    {
        if (value is IReadOnlyDictionary<string, object?> map)
            return key is string name && map.TryGetValue(name, out var member) ? member : null;
        if (key is string property)
        {
            return property switch
            {
                "size" => value switch { string s => (decimal)s.Length, IReadOnlyList<object?> l => (decimal)l.Count, _ => null },
                "first" => value switch { string s when s.Length > 0 => s[..1], IReadOnlyList<object?> l when l.Count > 0 => l[0], _ => null },
                "last" => value switch { string s when s.Length > 0 => s[^1..], IReadOnlyList<object?> l when l.Count > 0 => l[^1], _ => null },
                _ => null,
            };
        }
        if (value is IReadOnlyList<object?> items && TryInt(key, out var i))
        {
            var index = i < 0 ? items.Count + i : i;
            return index >= 0 && index < items.Count ? items[index] : null;
        }
        return null;
    }

    public static bool AreEqual(object? left, object? right)
    {
        if (left == Empty) return IsEmpty(right);
        if (right == Empty) return IsEmpty(left);
        if (left is null || right is null) return left is null && right is null;
        if (left is decimal || right is decimal) return TryNumber(left, out var l) && TryNumber(right, out var r) && l == r;
        if (left is bool || right is bool) return Equals(left, right);
        return string.Equals(ToText(left), ToText(right), StringComparison.Ordinal);
    }

    /// <summary>Numbers compare as numbers, texts as text; null (false) when either side is missing or a number meets a text.</summary>
    public static int? Compare(object? left, object? right)
    {
        if (left is null || right is null || left == Empty || right == Empty) return null;
        if (TryNumber(left, out var l) && TryNumber(right, out var r)) return l.CompareTo(r);
        // "ukendt" > 1000 is neither true nor false in a letter; call it not comparable rather than compare as text.
        if (left is decimal || right is decimal) return null;
        return string.CompareOrdinal(ToText(left), ToText(right));
    }

    public static bool Contains(object? left, object? right) => left switch
    {
        string s => right is not null && s.Contains(ToText(right), StringComparison.Ordinal),
        IReadOnlyList<object?> list => list.Any(item => AreEqual(item, right)),
        _ => false,
    };

    /// <summary>Accepts "1234.50" and the Danish "1234,50"; "1.234,50" is text, since its dot is ambiguous.</summary>
    public static bool TryNumber(object? value, out decimal number)
    {
        number = 0;
        if (value is decimal d)
        {
            number = d;
            return true;
        }
        if (value is not string s) return false;
        if (!s.Contains('.')) s = s.Replace(',', '.');
        return decimal.TryParse(s, NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite | NumberStyles.AllowLeadingSign
            | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out number);
    }

    public static bool TryInt(object? value, out int number)
    {
        var ok = TryNumber(value, out var d);
        number = ok ? (int)Math.Clamp(Math.Truncate(d), int.MinValue, int.MaxValue) : 0;
        return ok;
    }

    private static bool IsEmpty(object? value) => value switch
    {
        null => true,
        string s => string.IsNullOrWhiteSpace(s),
        IReadOnlyList<object?> list => list.Count == 0,
        _ => value == Empty,
    };
}
