using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Xml;
using DigitalPost.Domain.Memo;
using Spectre.Console;

namespace DigitalPost.LoadGen.Messages;

/// <param name="Pack">Send the MeMo files together, as one tar.lzma, rather than one request each.</param>
/// <param name="Follow">How long to wait for every receipt to be final (none: do not wait).</param>
public sealed record MemoSettings(Uri Platform, string SystemId, string ApiToken, IReadOnlyList<FileInfo> Files, bool Pack, TimeSpan? Follow);

/// <summary>A receipt as NgDP writes it (the load generator's own copy of the shape: it talks to the platform as any
/// sender system would).</summary>
public sealed record MemoReceipt(Guid? TransmissionId, Guid? MessageUUID, string? MessageId, string? ErrorCode, string? ErrorMessage, DateTimeOffset TimeStamp, string ReceiptStatus)
{
    public bool IsFinal => ReceiptStatus != "RECEIVED";
}

public sealed record MemoSummary(IReadOnlyList<MemoReceipt> Receipts, IReadOnlyList<string> Refusals, TimeSpan Sending);

/// <summary><c>loadgen memo</c>: sends MeMo files through the platform's NgDP face as a sender system would (Basic
/// authentication; one MeMo per request as XML, or several as a tar.lzma), then follows their receipts.</summary>
public static class MemoSend
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<MemoSummary> Run(MemoSettings settings, IAnsiConsole console, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = settings.Platform, Timeout = TimeSpan.FromMinutes(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{settings.SystemId}:{settings.ApiToken}")));
        var receipts = new List<MemoReceipt>();
        var refusals = new List<string>();
        var clock = Stopwatch.StartNew();

        var xmlFiles = settings.Files.Where(f => !IsArchive(f)).ToList();
        foreach (var archive in settings.Files.Where(IsArchive))
            await SendArchive(http, archive.Name, () => archive.OpenRead(), receipts, refusals, cancellationToken);
        if (settings.Pack && xmlFiles.Count > 0)
        {
            // Packed on disk as it is written: the files are never all in memory.
            var packed = Path.GetTempFileName();
            try
            {
                await using (var output = File.Create(packed))
                    await MemoArchive.Write(output, xmlFiles.Select(f => (f.Name, (Func<Stream>)f.OpenRead)), cancellationToken);
                await SendArchive(http, $"{xmlFiles.Count} MeMo files", () => File.OpenRead(packed), receipts, refusals, cancellationToken);
            }
            finally { File.Delete(packed); }
        }
        else
            foreach (var file in xmlFiles)
            {
                var uuid = await MessageUuidOf(file, cancellationToken);
                await using var content = file.OpenRead();
                using var body = new StreamContent(content) { Headers = { ContentType = new MediaTypeHeaderValue("application/xml"), ContentLength = file.Length } };
                using var response = await http.PostAsync(uuid is null ? "apis/v1/memos/" : $"apis/v1/memos/?memo-message-uuid={uuid}", body, cancellationToken);
                await Take(response, file.Name, many: false, receipts, refusals, cancellationToken);
            }
        var sending = clock.Elapsed;
        var taken = receipts.Count(r => r.ReceiptStatus is "RECEIVED" or "COMPLETED");
        console.MarkupLineInterpolated($"{taken} MeMo taken in, {receipts.Count - taken + refusals.Count} refused, in {sending.TotalSeconds:F1} s.");
        foreach (var refusal in refusals) console.MarkupLineInterpolated($"  [red]{refusal}[/]");

        if (settings.Follow is { } follow)
        {
            var deadline = DateTime.UtcNow + follow;
            // Every open receipt is asked for once a round; a round that finds some still open waits a little.
            while (receipts.Any(r => !r.IsFinal) && DateTime.UtcNow < deadline)
            {
                for (var i = 0; i < receipts.Count; i++)
                    if (receipts[i] is { IsFinal: false, MessageUUID: { } id })
                        receipts[i] = (await http.GetFromJsonAsync<MemoReceipt>($"apis/v1/receipts/{id}", Json, cancellationToken))!;
                if (receipts.Any(r => !r.IsFinal)) await Task.Delay(200, cancellationToken);
            }
        }
        var table = new Table().AddColumns("messageUUID", "messageId", "receiptStatus", "errorCode", "errorMessage");
        foreach (var receipt in receipts)
            table.AddRow(Markup.Escape($"{receipt.MessageUUID}"), Markup.Escape(receipt.MessageId ?? ""), receipt.ReceiptStatus,
                Markup.Escape(receipt.ErrorCode ?? ""), Markup.Escape(receipt.ErrorMessage ?? ""));
        console.Write(table);
        return new MemoSummary(receipts, refusals, sending);
    }

    private static bool IsArchive(FileInfo file) => file.Name.EndsWith(".tar.lzma", StringComparison.OrdinalIgnoreCase) || file.Name.EndsWith(".lzma", StringComparison.OrdinalIgnoreCase);

    private static async Task SendArchive(HttpClient http, string name, Func<Stream> open, List<MemoReceipt> receipts, List<string> refusals, CancellationToken cancellationToken)
    {
        await using var content = open();
        using var form = new MultipartFormDataContent();
        form.Add(new StreamContent(content) { Headers = { ContentType = new MediaTypeHeaderValue("application/x-lzma") } }, "file", "memos.tar.lzma");
        using var response = await http.PostAsync("apis/v1/memos/", form, cancellationToken);
        await Take(response, name, many: true, receipts, refusals, cancellationToken);
    }

    private static async Task Take(HttpResponseMessage response, string name, bool many, List<MemoReceipt> receipts, List<string> refusals, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            refusals.Add($"{name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
            return;
        }
        if (many) receipts.AddRange((await response.Content.ReadFromJsonAsync<List<MemoReceipt>>(Json, cancellationToken))!);
        else receipts.Add((await response.Content.ReadFromJsonAsync<MemoReceipt>(Json, cancellationToken))!);
    }

    /// <summary>The MeMo's messageUUID, read from its header (the request names it, as NgDP asks); null when it has none.</summary>
    private static async Task<Guid?> MessageUuidOf(FileInfo file, CancellationToken cancellationToken)
    {
        await using var content = file.OpenRead();
        using var xml = XmlReader.Create(content, new XmlReaderSettings { Async = true, DtdProcessing = DtdProcessing.Prohibit });
        try
        {
            while (await xml.ReadAsync())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (xml.NodeType == XmlNodeType.Element && xml.LocalName == "messageUUID" && xml.NamespaceURI == Memo.Namespace)
                    return Guid.TryParse(await xml.ReadElementContentAsStringAsync(), out var uuid) ? uuid : null;
                if (xml.NodeType == XmlNodeType.Element && xml.LocalName == "MessageBody") return null;
            }
        }
        catch (XmlException) { }
        return null;
    }
}
