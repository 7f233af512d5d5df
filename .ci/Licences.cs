// The licence of every package in the restore graph of every project in the solution, checked against
// .ci/licences-allowed.txt. Run after a restore, from the repository's root: dotnet run .ci/Licences.cs [--list]
// It reads what the restore wrote (obj/project.assets.json) and the packages' own .nuspec files, so it needs no
// network and no tool beyond the SDK. Exit code: 0 all allowed, 1 some not allowed, 2 it could not check.
using System.Text.Json;
using System.Xml.Linq;

var list = args.Contains("--list");
const string Solution = "DigitalPost.slnx";
const string AllowListFile = ".ci/licences-allowed.txt";
if (!File.Exists(Solution) || !File.Exists(AllowListFile))
{
    Console.Error.WriteLine($"licences: run from the repository's root ({Solution} and {AllowListFile} not found)");
    return 2;
}

var allow = AllowList.Read(AllowListFile);
// Package (id/version) to the projects that restore it; one package is checked once however many projects use it.
var packages = new SortedDictionary<string, (string Id, string Version, string Folder, SortedSet<string> Projects)>(StringComparer.OrdinalIgnoreCase);
foreach (var project in XDocument.Load(Solution).Descendants("Project").Select(p => (string)p.Attribute("Path")!))
{
    var assetsFile = Path.Combine(Path.GetDirectoryName(project)!, "obj", "project.assets.json");
    if (!File.Exists(assetsFile))
    {
        Console.Error.WriteLine($"licences: {assetsFile} not found: restore the solution first");
        return 2;
    }
    using var assets = JsonDocument.Parse(File.ReadAllBytes(assetsFile));
    // The folders this restore used (the global packages folder first), so a NUGET_PACKAGES override is followed.
    var folders = assets.RootElement.GetProperty("packageFolders").EnumerateObject().Select(f => f.Name).ToList();
    foreach (var library in assets.RootElement.GetProperty("libraries").EnumerateObject())
    {
        if (library.Value.GetProperty("type").GetString() != "package") continue;
        var path = library.Value.GetProperty("path").GetString()!;
        var folder = folders.Select(f => Path.Combine(f, path)).FirstOrDefault(Directory.Exists) ?? Path.Combine(folders[0], path);
        if (!packages.TryGetValue(library.Name, out var known))
        {
            var idAndVersion = library.Name.Split('/');
            packages[library.Name] = known = (idAndVersion[0], idAndVersion[1], folder, new SortedSet<string>(StringComparer.Ordinal));
        }
        known.Projects.Add(Path.GetFileNameWithoutExtension(project));
    }
}

var refused = 0;
foreach (var (id, version, folder, projects) in packages.Values)
{
    var declared = Declared(folder);
    var reason = declared switch
    {
        null => $"no .nuspec in {folder}",
        { Expression: { } expression } => Spdx.Allows(expression, allow.Licences) ? null : $"{expression} is not allowed",
        { Source: { } source } => allow.Packages.Contains((id, version, source)) ? null
            : $"declares no licence expression, only {source}: read it, and list the package in {AllowListFile} if it is permissive",
        _ => "declares no licence",
    };
    if (list) Console.WriteLine($"{id} {version}: {declared?.Expression ?? declared?.Source ?? "none"}{(reason is null ? "" : "  NOT ALLOWED")}");
    if (reason is null) continue;
    refused++;
    Console.WriteLine($"licences: {id} {version}: {reason} (used by {string.Join(", ", projects)})");
}

Console.WriteLine(refused == 0
    ? $"licences: {packages.Count} packages, all allowed"
    : $"licences: {packages.Count} packages, {refused} not allowed");
return refused == 0 ? 0 : 1;

// What a package's .nuspec says of its licence: an SPDX expression, or else where the licence is (a file in the
// package, or the old licenseUrl). Null when there is no .nuspec to read.
static (string? Expression, string? Source)? Declared(string folder)
{
    var nuspec = Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*.nuspec").FirstOrDefault() : null;
    if (nuspec is null) return null;
    // Element names are compared without their namespace: each nuspec schema version has its own.
    var metadata = XDocument.Load(nuspec).Root!.Elements().First(e => e.Name.LocalName == "metadata").Elements().ToList();
    var license = metadata.FirstOrDefault(e => e.Name.LocalName == "license");
    var url = metadata.FirstOrDefault(e => e.Name.LocalName == "licenseUrl")?.Value.Trim();
    return (string?)license?.Attribute("type") switch
    {
        "expression" => (license!.Value.Trim(), null),
        "file" => (null, $"file {license!.Value.Trim()}"),
        _ => (null, string.IsNullOrEmpty(url) ? null : url),
    };
}

/// <summary>.ci/licences-allowed.txt: one SPDX licence identifier a line (with its exception, if any: <c>X WITH Y</c>),
/// or <c>package ID VERSION SOURCE</c> for a package whose .nuspec gives no expression, SOURCE being what it gives
/// instead (its licenseUrl, or <c>file NAME</c>). Such a licence was read by hand for that version only: another
/// version may ship another text under the same name, so it is checked again.</summary>
sealed record AllowList(HashSet<string> Licences, HashSet<(string Id, string Version, string Source)> Packages)
{
    public static AllowList Read(string path)
    {
        var licences = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var packages = new HashSet<(string, string, string)>(new PackageComparer());
        foreach (var raw in File.ReadLines(path))
        {
            var line = (raw.IndexOf('#') is var hash and >= 0 ? raw[..hash] : raw).Trim();
            if (line.Length == 0) continue;
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words[0] != "package") licences.Add(string.Join(' ', words));
            else if (words.Length >= 4) packages.Add((words[1], words[2], string.Join(' ', words[3..])));
            else throw new FormatException($"{path}: '{raw}' is not 'package ID VERSION SOURCE'");
        }
        return new AllowList(licences, packages);
    }

    // Package ids and versions are case-insensitive on NuGet; the licence's source is compared exactly.
    private sealed class PackageComparer : IEqualityComparer<(string Id, string Version, string Source)>
    {
        private static readonly StringComparer Name = StringComparer.OrdinalIgnoreCase;

        public bool Equals((string Id, string Version, string Source) x, (string Id, string Version, string Source) y) =>
            Name.Equals(x.Id, y.Id) && Name.Equals(x.Version, y.Version) && x.Source == y.Source;

        public int GetHashCode((string Id, string Version, string Source) p) =>
            HashCode.Combine(Name.GetHashCode(p.Id), Name.GetHashCode(p.Version), p.Source);
    }
}

/// <summary>SPDX licence expressions: OR passes if one side is allowed, AND only if both are. A licence with an
/// exception (<c>X WITH Y</c>) or a "+" is allowed only if listed as written.</summary>
static class Spdx
{
    public static bool Allows(string expression, IReadOnlySet<string> allowed)
    {
        var tokens = expression.Replace("(", " ( ").Replace(")", " ) ").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var (at, malformed) = (0, false);
        var result = Or();
        // A malformed expression is refused rather than half read.
        return result && !malformed && at == tokens.Length;

        bool Or()
        {
            var any = And();
            while (Next("OR")) any |= And();
            return any;
        }

        bool And()
        {
            var all = Term();
            while (Next("AND")) all &= Term();
            return all;
        }

        bool Term()
        {
            if (at >= tokens.Length || tokens[at] == ")") return !(malformed = true);
            if (Next("("))
            {
                var inner = Or();
                malformed |= !Next(")");
                return inner;
            }
            var licence = tokens[at++];
            if (Next("WITH")) licence += " WITH " + (at < tokens.Length ? tokens[at++] : "");
            return allowed.Contains(licence);
        }

        bool Next(string word)
        {
            if (at >= tokens.Length || !tokens[at].Equals(word, StringComparison.OrdinalIgnoreCase)) return false;
            at++;
            return true;
        }
    }
}
