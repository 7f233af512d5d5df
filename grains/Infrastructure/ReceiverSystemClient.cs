using System.Net.Http.Json;
using DigitalPost.Contracts;

namespace DigitalPost.Infrastructure;

public readonly record struct PushResult(bool Accepted, string? ErrorCode, string? ErrorText)
{
    public static readonly PushResult Ok = new(true, null, null);
}

/// <summary>Pushes messages to a receiver system's endpoint. A 2xx answer means "received, receipt follows";
/// anything else, a timeout or a transport error is a failed attempt. Files in the document store are streamed from it
/// into the push (<see cref="PushContent"/>).</summary>
public sealed class ReceiverSystemClient(HttpClient http, IDocumentStore documents)
{
    public Task<PushResult> Push(Uri endpoint, PushEnvelope envelope, TimeSpan timeout) => Post(endpoint, [envelope], asArray: false, timeout);

    /// <summary>Several messages in one push, as a JSON array, to a system that takes that; one alone goes as itself.</summary>
    public Task<PushResult> Push(Uri endpoint, IReadOnlyList<PushEnvelope> envelopes, TimeSpan timeout) =>
        Post(endpoint, envelopes, asArray: envelopes.Count != 1, timeout);

    private async Task<PushResult> Post(Uri endpoint, IReadOnlyList<PushEnvelope> envelopes, bool asArray, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var content = Content(envelopes, asArray);
            using var response = await http.PostAsync(endpoint, content, cts.Token);
            return response.IsSuccessStatusCode
                ? PushResult.Ok
                : new PushResult(false, $"HTTP{(int)response.StatusCode}", $"the endpoint answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return new PushResult(false, "TIMEOUT", $"no answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            return new PushResult(false, "TRANSPORT", e.Message);
        }
    }

    /// <summary>Pushes without stored files (merge letters in bulk: up to 1,000 envelopes) are serialized straight onto
    /// the connection with pooled buffers, as ever, rather than into one array per push.</summary>
    private HttpContent Content(IReadOnlyList<PushEnvelope> envelopes, bool asArray) =>
        envelopes.Any(e => MessageDocuments.Files(e.Message).Any(f => f.File.IsStored())) ? new PushContent(envelopes, asArray, documents)
        : asArray ? JsonContent.Create(envelopes, options: PlatformJson.Options)
        : JsonContent.Create(envelopes[0], options: PlatformJson.Options);
}
