using System.Net.Http.Json;
using DigitalPost.Contracts;
using DigitalPost.Domain.Memo;

namespace DigitalPost.Infrastructure;

public readonly record struct PushResult(bool Accepted, string? ErrorCode, string? ErrorText)
{
    public static readonly PushResult Ok = new(true, null, null);
}

/// <summary>Pushes messages to a receiver system's endpoint, in the protocol it registered: the platform's JSON envelope,
/// or a MeMo for <c>REST_PUSH</c>. A 2xx answer means "received, receipt follows"; anything else, a timeout or a
/// transport error is a failed attempt. Files in the document store are streamed from it into the push
/// (<see cref="PushContent"/>, <see cref="MemoPushContent"/>).</summary>
public sealed class ReceiverSystemClient(HttpClient http, IDocumentStore documents, LetterPdfs letters, TimeProvider time)
{
    public Task<PushResult> Push(DeliveryTarget target, PushEnvelope envelope, TimeSpan timeout) => Post(target, [envelope], asArray: false, timeout);

    /// <summary>Several messages in one push, to a system that takes that (a JSON array, or a multipart of MeMos); one
    /// alone goes as itself.</summary>
    public Task<PushResult> Push(DeliveryTarget target, IReadOnlyList<PushEnvelope> envelopes, TimeSpan timeout) =>
        Post(target, envelopes, asArray: envelopes.Count != 1, timeout);

    private async Task<PushResult> Post(DeliveryTarget target, IReadOnlyList<PushEnvelope> envelopes, bool asArray, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var content = await Content(target.Protocol, envelopes, asArray, cts.Token);
            using var response = await http.PostAsync(target.Endpoint, content, cts.Token);
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

    /// <summary>What goes out to a system of <paramref name="protocol"/>: the one choice between the platform's JSON and MeMo.</summary>
    public async Task<HttpContent> Content(ReceiverProtocol protocol, IReadOnlyList<PushEnvelope> envelopes, bool asArray, CancellationToken cancellationToken)
    {
        if (protocol == ReceiverProtocol.PlatformJson) return Json(envelopes, asArray);
        var memos = new List<MemoPushContent>(envelopes.Count);
        foreach (var envelope in envelopes) memos.Add(await Memo(envelope.Message, cancellationToken));
        return asArray ? MemoPushContent.Multipart(memos) : memos[0];
    }

    /// <summary>The message as a MeMo, with a merge letter's PDF rendered into it where the message names it only.</summary>
    public async Task<MemoPushContent> Memo(Message message, CancellationToken cancellationToken)
    {
        if (MemoMapping.NeedsLetterPdf(message)) message = await letters.Inline(message);
        return await MemoPushContent.Create(message, MemoMapping.Extras(time.GetUtcNow()), documents, cancellationToken);
    }

    /// <summary>Pushes without stored files (merge letters in bulk: up to 1,000 envelopes) are serialized straight onto
    /// the connection with pooled buffers, as ever, rather than into one array per push.</summary>
    private HttpContent Json(IReadOnlyList<PushEnvelope> envelopes, bool asArray) =>
        envelopes.Any(e => MessageDocuments.Files(e.Message).Any(f => f.File.IsStored())) ? new PushContent(envelopes, asArray, documents)
        : asArray ? JsonContent.Create(envelopes, options: PlatformJson.Options)
        : JsonContent.Create(envelopes[0], options: PlatformJson.Options);
}
