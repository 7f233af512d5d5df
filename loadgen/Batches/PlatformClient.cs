using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Receivers;

namespace DigitalPost.LoadGen.Batches;

/// <summary>What the platform answers to a batch upload.</summary>
public sealed record BatchAccepted(Guid BatchId, string SenderBatchId, string Outcome, BatchStatusView? Status, int IssueCount, IReadOnlyList<RowIssue> Issues);

/// <summary>What the platform answers to a registry load: the first issues of <see cref="IssueCount"/>.</summary>
public sealed record RegistryLoaded(RegistryCounts Counts, int Loaded, IReadOnlyList<RowIssue> Issues, int IssueCount);

/// <summary>The platform's HTTP API as a sender system (with <c>apiKey</c>) and an operator (with <c>operatorKey</c>)
/// use it: each call goes with the credential of the role it needs.</summary>
public sealed class PlatformClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly HttpClient _operator;

    public PlatformClient(Uri platform, string? apiKey, TimeSpan? timeout = null, string? operatorKey = null)
    {
        _http = new HttpClient { BaseAddress = platform, Timeout = timeout ?? TimeSpan.FromMinutes(10) };
        if (!string.IsNullOrEmpty(apiKey)) _http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        _operator = new HttpClient { BaseAddress = platform, Timeout = timeout ?? TimeSpan.FromMinutes(10) };
        if (!string.IsNullOrEmpty(operatorKey)) _operator.DefaultRequestHeaders.Add("X-Api-Key", operatorKey);
    }

    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary>Uploads a merge batch. The CSV is streamed from <paramref name="csv"/>.</summary>
    public async Task<BatchAccepted> SubmitBatch(BatchOptions options, string template, Stream csv,
        IEnumerable<(string Path, bool PerRow)>? attachments = null, CancellationToken cancellationToken = default)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent(JsonSerializer.Serialize(options, PlatformJson.Options), Encoding.UTF8, "application/json"), "options" },
            { new StringContent(template, Encoding.UTF8, "text/plain"), "template" },
        };
        foreach (var (path, perRow) in attachments ?? [])
        {
            var file = new StreamContent(File.OpenRead(path));
            file.Headers.ContentType = new MediaTypeHeaderValue(path.EndsWith(".pdf", StringComparison.OrdinalIgnoreCase) ? "application/pdf" : "application/octet-stream");
            form.Add(file, perRow ? "rowAttachment" : "attachment", Path.GetFileName(path));
        }
        var recipients = new StreamContent(csv);
        recipients.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(recipients, "recipients", "recipients.csv");
        using var response = await _http.PostAsync("/api/batches", form, cancellationToken);
        if (response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK)
            return (await response.Content.ReadFromJsonAsync<BatchAccepted>(PlatformJson.Options, cancellationToken))!;
        throw new PlatformException(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    public Task<BatchStatusView> GetBatch(Guid batchId, CancellationToken cancellationToken = default) =>
        Get<BatchStatusView>($"/api/batches/{batchId}", cancellationToken);

    public Task<List<LetterView>> GetLetters(Guid batchId, bool errorsOnly, int take = 10_000, CancellationToken cancellationToken = default) =>
        Get<List<LetterView>>($"/api/batches/{batchId}/letters?errorsOnly={errorsOnly}&take={take}", cancellationToken);

    public Task<MessageStatusView> GetMessage(Guid messageUuid, CancellationToken cancellationToken = default) =>
        Get<MessageStatusView>($"/api/messages/{messageUuid}", cancellationToken);

    public Task<ReceiverSystemStatus> GetReceiverSystem(string cvr, string systemId, CancellationToken cancellationToken = default) =>
        Get<ReceiverSystemStatus>($"/api/organisations/{cvr}/receiver-systems/{systemId}", cancellationToken, _operator);

    public Task<JsonElement> GetOperations(CancellationToken cancellationToken = default) => Get<JsonElement>("/api/operations", cancellationToken, _operator);

    public Task SetWebhook(Uri? url, CancellationToken cancellationToken = default) => Send(HttpMethod.Put, "/api/senders/me/webhook", new { url }, cancellationToken);

    public Task RegisterOrganisation(string cvr, OrganisationRegistration registration, CancellationToken cancellationToken = default) =>
        Send(HttpMethod.Put, $"/api/organisations/{cvr}", registration, cancellationToken, _operator);

    /// <summary>Registers a receiver system and returns the API key it posts its receipts with, issued for it.</summary>
    /// <summary>Registers a receiver system that takes <paramref name="format"/> (MeMo: NgDP's REST_PUSH) and issues its key.</summary>
    public async Task<string> RegisterReceiverSystem(string cvr, string systemId, Uri endpoint, string technicalContact, bool isPrimary, int maxMessagesPerPush = 1,
        PushFormat format = PushFormat.Json, CancellationToken cancellationToken = default)
    {
        var protocol = format == PushFormat.Memo ? ReceiverProtocol.RestPush : ReceiverProtocol.PlatformJson;
        await Send(HttpMethod.Put, $"/api/organisations/{cvr}/receiver-systems/{systemId}", new { endpoint, technicalContact, isPrimary, maxMessagesPerPush, protocol }, cancellationToken, _operator);
        using var response = await _operator.PostAsJsonAsync("/api/credentials",
            new { role = "ReceiverSystem", name = $"{systemId} of {cvr}", cvr, receiverSystemId = systemId }, PlatformJson.Options, cancellationToken);
        if (!response.IsSuccessStatusCode) throw new PlatformException(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        return (await response.Content.ReadFromJsonAsync<JsonElement>(PlatformJson.Options, cancellationToken)).GetProperty("apiKey").GetString()!;
    }

    public Task PutContactPoint(string cvr, string contactPointId, string receiverSystemId, CancellationToken cancellationToken = default) =>
        Send(HttpMethod.Put, $"/api/organisations/{cvr}/contact-points/{contactPointId}", new { name = contactPointId, receiverSystemId }, cancellationToken, _operator);

    /// <summary>Sends one message (not a batch) to an organisation's contact point, as a system-to-system sender does.</summary>
    public Task SendMessage(Guid uuid, string cvr, string? contactPointId, string label, CancellationToken cancellationToken = default) =>
        Send(HttpMethod.Post, "/api/messages", new Message(
            new MessageHeader(uuid, label, new Sender(ScenarioSenderCvr), new Recipient(cvr, RecipientIdType.Cvr, contactPointId)),
            new MessageBody(new Document(label, [new DocumentFile("brev.txt", "text/plain", Encoding.UTF8.GetBytes(label))]))), cancellationToken);

    /// <summary>A valid CVR (modulus 11) that the load generator signs its single messages with.</summary>
    public const string ScenarioSenderCvr = "29189846";

    public async Task LoadRegistry(string part, Stream csv, CancellationToken cancellationToken = default)
    {
        using var content = new StreamContent(csv);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        await LoadRegistry(part, content, cancellationToken);
    }

    /// <summary>Loads citizens or companies (<paramref name="part"/>) from a CSV body, which may be written as it is sent.</summary>
    public async Task<RegistryLoaded> LoadRegistry(string part, HttpContent csv, CancellationToken cancellationToken = default)
    {
        using var response = await _operator.PutAsync($"/api/registry/{part}", csv, cancellationToken);
        if (!response.IsSuccessStatusCode) throw new PlatformException(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        return (await response.Content.ReadFromJsonAsync<RegistryLoaded>(PlatformJson.Options, cancellationToken))!;
    }

    internal async Task<T> Get<T>(string path, CancellationToken cancellationToken, HttpClient? http = null)
    {
        using var response = await (http ?? _http).GetAsync(path, cancellationToken);
        if (!response.IsSuccessStatusCode) throw new PlatformException(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        return (await response.Content.ReadFromJsonAsync<T>(PlatformJson.Options, cancellationToken))!;
    }

    private async Task Send(HttpMethod method, string path, object body, CancellationToken cancellationToken, HttpClient? http = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body, options: PlatformJson.Options) };
        using var response = await (http ?? _http).SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode) throw new PlatformException(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>A failure that passes: while the cluster recovers from a silo that died, a read may answer 5xx or lose its
    /// connection. A loop that reads again shortly goes on rather than stopping.</summary>
    public static bool IsPassing(Exception e) => e is PlatformException { Status: >= HttpStatusCode.InternalServerError } or HttpRequestException;

    public void Dispose()
    {
        _http.Dispose();
        _operator.Dispose();
    }
}

public sealed class PlatformException(HttpStatusCode status, string body) : Exception($"The platform answered {(int)status} {status}: {body}")
{
    public HttpStatusCode Status { get; } = status;
}
