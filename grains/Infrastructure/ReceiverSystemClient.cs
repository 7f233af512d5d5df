using System.Net.Http.Json;
using DigitalPost.Contracts;

namespace DigitalPost.Infrastructure;

public readonly record struct PushResult(bool Accepted, string? ErrorCode, string? ErrorText)
{
    public static readonly PushResult Ok = new(true, null, null);
}

/// <summary>Pushes a message to a receiver system's endpoint. A 2xx answer means "received, receipt follows";
/// anything else, a timeout or a transport error is a failed attempt.</summary>
public sealed class ReceiverSystemClient(HttpClient http)
{
    public async Task<PushResult> Push(Uri endpoint, PushEnvelope envelope, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var response = await http.PostAsJsonAsync(endpoint, envelope, PlatformJson.Options, cts.Token);
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
