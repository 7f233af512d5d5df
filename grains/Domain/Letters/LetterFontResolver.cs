using PdfSharp.Fonts;

namespace DigitalPost.Domain.Letters;

/// <summary>Serves the embedded DejaVu Sans for every family name: a fresh machine may have no fonts installed, and
/// PDFsharp's core build finds none by itself on Linux.</summary>
internal sealed class LetterFontResolver : IFontResolver
{
    /// <summary>A name no other resolver knows, so ours answers it even when it is only the fallback.</summary>
    public const string Family = "DigitalPost Letter Sans";

    private const string Regular = "DejaVuSans", Bold = "DejaVuSans-Bold";
    private static readonly Lazy<byte[]> RegularFont = new(() => Load(Regular)), BoldFont = new(() => Load(Bold));

    /// <summary>Must run before PDFsharp touches a font; PDFsharp throws when a different resolver is set after that,
    /// so a resolver someone else installed is kept and ours becomes the fallback.</summary>
    public static void Install()
    {
        if (GlobalFontSettings.FontResolver is null) GlobalFontSettings.FontResolver = new LetterFontResolver();
        else if (GlobalFontSettings.FontResolver is not LetterFontResolver && GlobalFontSettings.FallbackFontResolver is null)
            GlobalFontSettings.FallbackFontResolver = new LetterFontResolver();
    }

    public FontResolverInfo ResolveTypeface(string familyName, bool bold, bool italic) =>
        new(bold ? Bold : Regular, mustSimulateBold: false, mustSimulateItalic: italic);

    public byte[]? GetFont(string faceName) => faceName switch
    {
        Regular => RegularFont.Value,
        Bold => BoldFont.Value,
        _ => null,
    };

    private static byte[] Load(string face)
    {
        var name = $"DigitalPost.Domain.Letters.Fonts.{face}.ttf";
        using var stream = typeof(LetterFontResolver).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The font resource {name} is missing from the assembly.");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }
}
