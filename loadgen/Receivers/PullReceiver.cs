using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using DigitalPost.Domain.Memo;

namespace DigitalPost.LoadGen.Receivers;

/// <summary>Receiver systems registered as NgDP's <c>REST_PULL</c>: the platform pushes them nothing; they list their
/// waiting MeMos at <c>GET /apis/v1/memos/</c>, fetch each and read it with <see cref="MemoReader"/>, answer it as their
/// profile says with an NgDP receipt, and delete it from the list.</summary>
public sealed partial class ReceiverSimulator
{
    private const int PullPageSize = 100;
    private readonly ConcurrentDictionary<Guid, int> _fetches = new();

    /// <summary>One round of <paramref name="system"/>: every MeMo waiting for it, fetched, answered and deleted. A
    /// <see cref="ReceiverProfile.Dead"/> system does not call. Answers how many it fetched.</summary>
    public async Task<int> PullOnce(string system, CancellationToken cancellationToken = default)
    {
        var (profile, share) = ProfileOf(system);
        var counter = _counts.GetOrAdd(system, _ => new SystemCounter());
        if (profile == ReceiverProfile.Dead) return 0;
        var fetched = 0;
        var seen = new HashSet<Guid>();
        while (true)
        {
            // Page 0 each time: what was answered or deleted has left the list. A MeMo still listed after that (the
            // platform made it available again meanwhile) waits for the next round.
            using var list = await Send(system, HttpMethod.Get, $"/apis/v1/memos/?page=0&size={PullPageSize}", null, cancellationToken);
            list.EnsureSuccessStatusCode();
            var waiting = (await list.Content.ReadFromJsonAsync<WaitingMemos>(cancellationToken))!.Content.Where(seen.Add).ToList();
            if (waiting.Count == 0) return fetched;
            foreach (var uuid in waiting)
            {
                if (profile == ReceiverProfile.Slow) await Task.Delay(SlowDelay, cancellationToken);
                if (await Fetch(system, uuid, cancellationToken) is not { } hashes) continue;
                fetched++;
                var at = DateTimeOffset.UtcNow;
                var attempt = _fetches.AddOrUpdate(uuid, 1, (_, n) => n + 1);
                _pushes.Enqueue(new ReceivedPush(system, uuid, attempt, at, 1, HashDocuments ? hashes : null));
                var poisoned = _poisoned.TryGetValue(uuid, out var poisonedAt) && (poisonedAt is null || poisonedAt == system);
                var kind = ReceiverRules.Receipt(profile, share, uuid, poisoned, Random.Shared.NextDouble());
                counter.Accepted([kind]);
                _log?.Accepted(system, at, [(uuid, attempt, kind)]);
                if (ReceiverRules.ToReceipt(kind, uuid) is { } receipt)
                {
                    using var answered = await Send(system, HttpMethod.Post, $"/apis/v1/memos/{uuid}/receipt", JsonContent.Create(new
                    {
                        messageUUID = uuid,
                        receiptStatus = receipt.Positive ? "COMPLETED" : "NOT_ALLOWED",
                        errorCode = receipt.ErrorCode,
                        errorMessage = receipt.ErrorText,
                    }), cancellationToken);
                    answered.EnsureSuccessStatusCode();
                }
                // A receipt took it off the list already: 404 then.
                using var deleted = await Send(system, HttpMethod.Delete, $"/apis/v1/memos/{uuid}", null, cancellationToken);
                if (deleted.StatusCode is not (HttpStatusCode.NoContent or HttpStatusCode.NotFound)) deleted.EnsureSuccessStatusCode();
            }
        }
    }

    /// <summary>Pulls <paramref name="system"/> every <paramref name="interval"/> until <paramref name="stop"/>; a round that
    /// fails (the platform away) is tried again at the next.</summary>
    public async Task KeepPulling(string system, TimeSpan interval, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try { await PullOnce(system, stop); }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or InvalidDataException) { }
            try { await Task.Delay(interval, stop); }
            catch (OperationCanceledException) { }
        }
    }

    /// <summary>The MeMo read as it arrives, each file's content hashed on the way; null when it is no longer waiting.</summary>
    private async Task<IReadOnlyList<string>?> Fetch(string system, Guid uuid, CancellationToken cancellationToken)
    {
        using var response = await Send(system, HttpMethod.Get, $"/apis/v1/memos/{uuid}", null, cancellationToken, HttpCompletionOption.ResponseHeadersRead);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        response.EnsureSuccessStatusCode();
        var hashes = new List<string>();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var read = await MemoReader.Read(body, async (_, content, ct) =>
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            long length = 0;
            int n;
            while ((n = await content.ReadAsync(buffer, ct)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                length += n;
            }
            hashes.Add(Convert.ToHexStringLower(sha.GetHashAndReset()));
            return (length, hashes[^1]);
        }, uuid, cancellationToken);
        if (!read.IsValid)
            throw new InvalidDataException($"MeMo {uuid} for {system} is not valid: {string.Join("; ", read.Errors.Select(e => $"{e.Path} {e.Message}"))}");
        return hashes;
    }

    private async Task<HttpResponseMessage> Send(string system, HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (_apiKeys.TryGetValue(system, out var key)) request.Headers.Add("X-Api-Key", key);
        return await NextPlatform().SendAsync(request, completion, cancellationToken);
    }

    private sealed record WaitingMemos(IReadOnlyList<Guid> Content);
}
