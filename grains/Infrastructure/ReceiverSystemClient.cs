using System.Net.Http.Json;
using DigitalPost.Contracts;

namespace DigitalPost.Infrastructure;

public readonly record struct PushResult(bool Accepted, string? ErrorCode, string? ErrorText)
{
    public static readonly PushResult Ok = new(true, null, null);
}

/// <summary>Pushes messages to a receiver system's endpoint. A 2xx answer means "received, receipt follows";
/// anything else, a timeout or a transport error is a failed attempt.</summary>
public sealed class ReceiverSystemClient(HttpClient http)
{
    public Task<PushResult> Push(Uri endpoint, PushEnvelope envelope, TimeSpan timeout) => Post(endpoint, envelope, timeout);

    /// <summary>Several messages in one push, as a JSON array, to a system that takes that; one alone goes as itself.</summary>
    public Task<PushResult> Push(Uri endpoint, IReadOnlyList<PushEnvelope> envelopes, TimeSpan timeout) =>
        envelopes.Count == 1 ? Post(endpoint, envelopes[0], timeout) : Post(endpoint, envelopes, timeout);

    private async Task<PushResult> Post<T>(Uri endpoint, T body, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var response = await http.PostAsJsonAsync(endpoint, body, PlatformJson.Options, cts.Token);
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
}
