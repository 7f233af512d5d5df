namespace DigitalPost.Domain.Letters;

internal sealed record LiquidFilter(string Name, int MinArguments, int MaxArguments, Func<object?, object?[], object?> Apply);

/// <summary>Liquid's text and list filters; letters get strings from CSV cells, so there are no math or date filters.</summary>
internal static class LiquidFilters
{
    private static readonly Dictionary<string, LiquidFilter> All = new LiquidFilter[]
    {
        new("upcase", 0, 0, (v, _) => Text(v).ToUpperInvariant()),
        new("downcase", 0, 0, (v, _) => Text(v).ToLowerInvariant()),
        new("capitalize", 0, 0, (v, _) => Text(v) is { Length: > 0 } s ? char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant() : ""),
        new("strip", 0, 0, (v, _) => Text(v).Trim()),
        new("lstrip", 0, 0, (v, _) => Text(v).TrimStart()),
        new("rstrip", 0, 0, (v, _) => Text(v).TrimEnd()),
        new("append", 1, 1, (v, a) => Text(v) + Text(a[0])),
        new("prepend", 1, 1, (v, a) => Text(a[0]) + Text(v)),
        new("replace", 2, 2, (v, a) => Replace(Text(v), Text(a[0]), Text(a[1]), all: true)),
        new("replace_first", 2, 2, (v, a) => Replace(Text(v), Text(a[0]), Text(a[1]), all: false)),
        new("remove", 1, 1, (v, a) => Replace(Text(v), Text(a[0]), "", all: true)),
        new("remove_first", 1, 1, (v, a) => Replace(Text(v), Text(a[0]), "", all: false)),
        new("truncate", 0, 2, (v, a) => Truncate(Text(v), a.Length > 0 && LiquidValues.TryInt(a[0], out var n) ? n : 50,
            a.Length > 1 ? Text(a[1]) : "...")),
        new("default", 1, 1, (v, a) => LiquidValues.IsTruthy(v) ? v : a[0]),
        new("size", 0, 0, (v, _) => LiquidValues.Member(v, "size") ?? 0m),
        new("split", 1, 1, (v, a) => Split(Text(v), Text(a[0]))),
        new("join", 0, 1, (v, a) => string.Join(a.Length > 0 ? Text(a[0]) : " ", LiquidValues.ToList(v).Select(LiquidValues.ToText))),
        new("first", 0, 0, (v, _) => LiquidValues.Member(v, "first")),
        new("last", 0, 0, (v, _) => LiquidValues.Member(v, "last")),
    }.ToDictionary(f => f.Name, StringComparer.Ordinal);

    public static LiquidFilter? Find(string name) => All.GetValueOrDefault(name);

    private static string Text(object? value) => LiquidValues.ToText(value);

    private static string Replace(string text, string search, string replacement, bool all)
    {
        if (search.Length == 0) return text;
        if (all) return text.Replace(search, replacement, StringComparison.Ordinal);
        var at = text.IndexOf(search, StringComparison.Ordinal);
        return at < 0 ? text : string.Concat(text.AsSpan(0, at), replacement, text.AsSpan(at + search.Length));
    }

    /// <summary>As Liquid: the result, ellipsis included, is at most <paramref name="length"/> characters.</summary>
    private static string Truncate(string text, int length, string ellipsis) =>
        text.Length <= length ? text : text[..Math.Max(0, length - ellipsis.Length)] + ellipsis;

    private static IReadOnlyList<object?> Split(string text, string separator) =>
        text.Length == 0 ? []
        : separator.Length == 0 ? text.Select(c => (object?)c.ToString()).ToArray()
        : text.Split(separator).Select(s => (object?)s).ToArray();
}
