using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.Letters;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace DigitalPost.Silo;

/// <summary>A merge batch as uploaded: multipart/form-data with the parts <c>options</c> (JSON), <c>template</c>
/// (Liquid), <c>recipients</c> (CSV), any number of <c>attachment</c> (common to every letter) and <c>rowAttachment</c>
/// (individual, named by a row's attachment column). The CSV is spooled to a temporary file, never held in memory.</summary>
public sealed class BatchUpload : IAsyncDisposable
{
    public required BatchOptions Options { get; init; }
    public required string Template { get; init; }
    public required LetterTemplate Parsed { get; init; }
    public required IReadOnlyList<Attachment> Common { get; init; }
    public required IReadOnlyList<Attachment> Individual { get; init; }
    public required FileStream Csv { get; init; }
    /// <summary>A hash over everything uploaded: the same upload twice is the same batch.</summary>
    public required string Fingerprint { get; init; }

    public ValueTask DisposeAsync() => Csv.DisposeAsync();
}

public sealed record IntakeResult(BatchBeginOutcome Outcome, BatchStatusView? Status, IReadOnlyList<RowIssue> Issues, int IssueCount);

/// <summary>Takes a merge batch in: reads the upload, checks its options and template, stores its rows in chunks with
/// each row's issues, and seals it. Sealing is the acknowledgement: a batch answered 202 is stored in full.</summary>
public sealed class BatchIntake(IGrainFactory grains, TimeProvider time, IOptions<ResendFlowOptions> flow, IOptions<MassSendingOptions> options)
{
    public const int IssuesShown = 100;
    private const int ChunksInFlight = 4;

    /// <summary>The largest template and options parts: a letter's template is a few kilobytes.</summary>
    public const int MaxTemplateBytes = 1 << 20, MaxOptionsBytes = 1 << 16;
    /// <summary>RFC 2046 allows a multipart boundary of 1 to 70 characters.</summary>
    private const int MaxBoundaryLength = 70;

    public async Task<BatchUpload> Read(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            throw Invalid("body", "must be multipart/form-data with the parts options, template, recipients and any attachment or rowAttachment");
        var boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value;
        if (string.IsNullOrEmpty(boundary) || boundary.Length > MaxBoundaryLength)
            throw Invalid("body", $"needs a multipart boundary of 1 to {MaxBoundaryLength} characters in its Content-Type");
        var reader = new MultipartReader(boundary, request.Body);

        string? optionsJson = null, template = null;
        var common = new List<Attachment>();
        var individual = new List<Attachment>();
        FileStream? csv = null;
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                var disposition = section.GetContentDispositionHeader();
                var name = disposition?.Name.Value?.Trim('"') ?? "";
                switch (name)
                {
                    case "options": optionsJson = await Text(section.Body, name, MaxOptionsBytes, cancellationToken); break;
                    case "template": template = await Text(section.Body, name, MaxTemplateBytes, cancellationToken); break;
                    case "attachment" or "rowAttachment":
                        var filename = disposition?.FileName.Value?.Trim('"') ?? disposition?.FileNameStar.Value;
                        if (string.IsNullOrWhiteSpace(filename)) throw Invalid(name, "each attachment needs a filename");
                        // No letter can carry a file larger than a whole message may be.
                        var content = await Bytes(section.Body, name, MessageRules.MaxMessageBytes, cancellationToken);
                        var attachment = new Attachment(filename, section.ContentType ?? "application/octet-stream", content);
                        (name == "attachment" ? common : individual).Add(attachment);
                        hash.AppendData(Encoding.UTF8.GetBytes($"{name}\n{filename}\n"));
                        hash.AppendData(SHA256.HashData(attachment.Content));
                        break;
                    case "recipients":
                        if (csv is not null) throw Invalid(name, "is given twice; send one CSV of recipients");
                        csv = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
                        var chunk = new byte[1 << 16];
                        int read;
                        while ((read = await section.Body.ReadAsync(chunk, cancellationToken)) > 0)
                        {
                            hash.AppendData(chunk, 0, read);
                            await csv.WriteAsync(chunk.AsMemory(0, read), cancellationToken);
                        }
                        csv.Position = 0;
                        break;
                    default: throw Invalid(name.Length == 0 ? "body" : Cpr.Redact(name), "is not a part of a merge batch (options, template, recipients, attachment, rowAttachment)");
                }
            }
            if (optionsJson is null) throw Invalid("options", "is missing");
            if (template is null) throw Invalid("template", "is missing");
            if (csv is null) throw Invalid("recipients", "is missing: the CSV of recipients and merge fields");

            BatchOptions? parsedOptions;
            try { parsedOptions = JsonSerializer.Deserialize<BatchOptions>(optionsJson, PlatformJson.Options); }
            catch (JsonException e) { throw Invalid("options", Problems.WhereJsonFails(e)); }
            if (parsedOptions is null) throw Invalid("options", "is empty");
            var errors = BatchRules.Validate(parsedOptions, time.GetUtcNow(), flow.Value.MaxValoerAhead);
            if (errors.Count > 0) throw new ValidationException(errors);

            LetterTemplate parsed;
            try { parsed = LetterTemplate.Parse(template); }
            catch (TemplateException e) { throw Invalid("template", e.Message); }

            hash.AppendData(Encoding.UTF8.GetBytes($"\n{optionsJson}\n{template}"));
            return new BatchUpload
            {
                Options = parsedOptions, Template = template, Parsed = parsed, Common = common, Individual = individual, Csv = csv,
                Fingerprint = Convert.ToHexString(hash.GetHashAndReset()),
            };
        }
        catch (Exception e) when (Problems.IsMalformedMultipart(e))
        {
            if (csv is not null) await csv.DisposeAsync();
            throw Problems.MalformedMultipart();
        }
        catch
        {
            if (csv is not null) await csv.DisposeAsync();
            throw;
        }
    }

    private static async Task<byte[]> Bytes(Stream part, string name, long limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        int read;
        while ((read = await part.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit) throw Invalid(name, $"is larger than {limit:N0} bytes");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>A part's text: UTF-8 unless a byte order mark says otherwise, the mark not included.</summary>
    private static async Task<string> Text(Stream part, string name, int limit, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(new MemoryStream(await Bytes(part, name, limit, cancellationToken)), Encoding.UTF8);
        return await reader.ReadToEndAsync(cancellationToken);
    }

    public async Task<IntakeResult> Accept(AuthenticatedSender sender, BatchUpload upload)
    {
        var senderBatchId = upload.Options.BatchId ?? BatchIds.FromContent(upload.Fingerprint);
        var batchId = BatchIds.Batch(sender.Id, senderBatchId);
        var batch = grains.GetGrain<IMergeBatchGrain>(batchId);
        var header = new BatchHeader(sender.Id, senderBatchId, sender.Cvr, sender.Name, upload.Options with { BatchId = senderBatchId },
            upload.Template, upload.Common, upload.Individual, upload.Fingerprint);
        // The header is judged before the batch begins: a file refused for its header stores nothing, and its batch id
        // stays free for the corrected file.
        using var text = CsvText.Open(upload.Csv, leaveOpen: true);
        var results = ReaderFor(upload).Read(text);
        var begun = await batch.Begin(header);
        if (begun != BatchBeginOutcome.Receiving) return new IntakeResult(begun, await batch.GetStatus(), [], 0);

        var shown = new List<RowIssue>();
        var issueCount = 0;
        var chunk = 0;
        var rows = new List<BatchRow>(options.Value.ChunkSize);
        var issues = new List<RowIssue>();
        var inFlight = new List<Task>();
        async Task Store()
        {
            inFlight.Add(batch.AddRows(chunk++, rows, issues));
            rows = new List<BatchRow>(options.Value.ChunkSize);
            issues = [];
            if (inFlight.Count >= ChunksInFlight)
            {
                await inFlight[0];
                inFlight.RemoveAt(0);
            }
        }

        foreach (var result in results)
        {
            if (result.Accepted is { } row) rows.Add(row);
            issues.AddRange(result.Issues);
            issueCount += result.Issues.Count;
            if (shown.Count < IssuesShown) shown.AddRange(result.Issues.Take(IssuesShown - shown.Count));
            if (rows.Count == options.Value.ChunkSize) await Store();
        }
        if (rows.Count > 0 || issues.Count > 0) await Store();
        await Task.WhenAll(inFlight);
        var status = await batch.Seal(chunk);
        return new IntakeResult(BatchBeginOutcome.Receiving, status, shown, issueCount);
    }

    /// <summary>Renders one row of an upload without storing anything: the sender's check before sending.</summary>
    public (BatchRow? Row, IReadOnlyList<RowIssue> Issues) FindRow(BatchUpload upload, int row)
    {
        var csvReader = ReaderFor(upload);
        using var text = CsvText.Open(upload.Csv, leaveOpen: true);
        var found = csvReader.Read(text).FirstOrDefault(r => r.Row == row);
        return found is null ? (null, []) : (found.Accepted, found.Issues);
    }

    /// <summary>The CSV reader for an upload: its template's fields, and the sizes of its attachments.</summary>
    private static RecipientCsvReader ReaderFor(BatchUpload upload)
    {
        var sizes = upload.Individual.ToDictionary(a => a.Filename, a => a.Content.LongLength);
        return new RecipientCsvReader(upload.Parsed.MergeFields, name => sizes.TryGetValue(name, out var size) ? size : null,
            upload.Common.Sum(a => a.Content.LongLength), upload.Parsed.RequiredFields);
    }

    private static ValidationException Invalid(string field, string reason) => new([new ValidationError(field, reason)]);
}
