using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace DigitalPost.Silo;

/// <summary>
/// Loads a registry file (the national one has about 6 million rows) as it is read: the rows are checked as they come
/// and handed to the registry store, which stores them a chunk (<c>Registry:ChunkRows</c>) at a time. Neither the file
/// nor its rows are held, only the first <see cref="MaxIssues"/> issues. The load runs in the silo, on the silo's
/// registry store: a file's worth of rows is not sent through a grain.
/// </summary>
public sealed class RegistryLoading(IRecipientRegistryStore store, IOptions<RegistryOptions> options)
{
    /// <summary>Issues answered at most: a file with a fault in every row would otherwise answer millions of them.</summary>
    public const int MaxIssues = 1000;

    /// <summary>A national citizens' file is about half a gigabyte; it is read as it arrives, never held.</summary>
    public const long MaxUploadBytes = 4L << 30;

    public Task<RegistryLoaded> LoadCitizens(TextReader text, CancellationToken cancellationToken = default) =>
        Load(issue => RegistryCsv.ReadCitizens(text, issue), rows => store.LoadCitizens(rows, options.Value.ChunkRows, cancellationToken));

    public Task<RegistryLoaded> LoadCompanies(TextReader text, CancellationToken cancellationToken = default) =>
        Load(issue => RegistryCsv.ReadCompanies(text, issue), rows => store.LoadCompanies(rows, options.Value.ChunkRows, cancellationToken));

    /// <summary>Loads the citizens of a request's body: as the body arrives when its Content-Type names its charset
    /// (<c>text/csv; charset=utf-8</c>); otherwise the encoding is guessed from the whole body first, which takes a
    /// copy of it on disk.</summary>
    /// <exception cref="CsvHeaderException">The file's header cannot be used; nothing was loaded.</exception>
    /// <exception cref="ValidationException">The charset is unknown, or the body is not text in it (the chunks before
    /// the faulty one are loaded).</exception>
    public Task<RegistryLoaded> LoadCitizens(HttpRequest request) => Load(request, LoadCitizens);

    /// <summary>Loads the companies of a request's body, as <see cref="LoadCitizens(HttpRequest)"/>.</summary>
    public Task<RegistryLoaded> LoadCompanies(HttpRequest request) => Load(request, LoadCompanies);

    private static async Task<RegistryLoaded> Load(HttpRequest request, Func<TextReader, CancellationToken, Task<RegistryLoaded>> load)
    {
        using var text = await Open(request);
        try
        {
            return await load(text, request.HttpContext.RequestAborted);
        }
        catch (DecoderFallbackException)
        {
            throw new ValidationException([new ValidationError("body", $"is not {Charset(request)} text as its Content-Type says; " +
                "the chunks of rows before the first such byte are loaded: correct the file or its charset and load it again")]);
        }
    }

    private static async Task<TextReader> Open(HttpRequest request)
    {
        if (Charset(request) is not { } charset) return await CsvText.OpenAsync(request.Body, leaveOpen: true, request.HttpContext.RequestAborted);
        try
        {
            var text = CsvText.OpenDeclared(request.Body, charset, leaveOpen: true);
            // The rows are read as they arrive, synchronously (the CSV reader is): the store reads them on a thread of
            // its own, and the header here.
            request.HttpContext.Features.GetRequiredFeature<IHttpBodyControlFeature>().AllowSynchronousIO = true;
            return text;
        }
        catch (ArgumentException)
        {
            throw new ValidationException([new ValidationError("Content-Type", $"the charset '{charset}' is not one the platform reads; send utf-8 or windows-1252")]);
        }
    }

    private static string? Charset(HttpRequest request) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.Charset is { Length: > 0 } charset ? charset.ToString() : null;

    private static async Task<RegistryLoaded> Load<T>(Func<Action<RowIssue>, IEnumerable<T>> read, Func<IEnumerable<T>, Task<RegistryCounts>> store)
    {
        var tally = new Tally();
        var counts = await store(tally.Count(read(tally.Add)));
        return new RegistryLoaded(counts, tally.Loaded, tally.Issues, tally.IssueCount);
    }

    /// <summary>What a load's rows came to. Kept by the thread that reads the rows; read once the load is over.</summary>
    private sealed class Tally
    {
        public List<RowIssue> Issues { get; } = [];
        public int IssueCount { get; private set; }
        public int Loaded { get; private set; }

        public void Add(RowIssue issue)
        {
            if (IssueCount++ < MaxIssues) Issues.Add(issue);
        }

        public IEnumerable<T> Count<T>(IEnumerable<T> records)
        {
            foreach (var record in records)
            {
                Loaded++;
                yield return record;
            }
        }
    }
}
