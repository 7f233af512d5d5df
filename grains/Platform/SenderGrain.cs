using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

/// <summary>One status change as a sender's webhook receives it. <see cref="EventId"/> is stable: a push repeated
/// after a lost answer carries the same ids, so the sender can drop what it has seen. It names the letter as well as
/// the message, because a returned letter has no message (its <see cref="MessageUuid"/> is empty).</summary>
[GenerateSerializer, Immutable, Alias("dp.WebhookEvent")]
public sealed record WebhookEvent(
    [property: Id(0)] string EventId,
    [property: Id(1)] Guid BatchId,
    [property: Id(2)] string SenderBatchId,
    [property: Id(3)] int Row,
    [property: Id(4)] int Copy,
    [property: Id(5)] Guid MessageUuid,
    [property: Id(6)] LetterState State,
    [property: Id(7)] DateTimeOffset At,
    [property: Id(8)] string? ErrorCode,
    [property: Id(9)] string? ErrorText);

[GenerateSerializer, Alias("dp.SenderState")]
public sealed class SenderState
{
    [Id(0)] public Uri? Webhook { get; set; }
    // Id 1 held the pending events; they are in the webhook outbox store now.
    [Id(2)] public long Delivered { get; set; }
    [Id(3)] public string? LastError { get; set; }
    [Id(4)] public int FailedAttempts { get; set; }
    [Id(5)] public DateTimeOffset? NextAttemptAt { get; set; }
}

/// <summary>A sender system's webhook: events are stored in its outbox (<see cref="IWebhookOutbox"/>), pushed in order in
/// groups, retried with back-off while the webhook fails, and dropped only once it answered 2xx.</summary>
[Reentrant]
public sealed class SenderGrain : Grain, ISenderGrain
{
    private readonly IPersistentState<SenderState> _state;
    private readonly TimeProvider _time;
    private readonly WakeUps _wakeUps;
    private readonly IHttpClientFactory _http;
    private readonly WebhookOptions _options;
    private readonly ILogger<SenderGrain> _log;
    private readonly CoalescingWriter _writer;
    private readonly IWebhookOutbox _outbox;
    private long _pending;
    private static readonly TimeSpan CountSaveInterval = TimeSpan.FromSeconds(1);
    private DateTimeOffset _savedAt;
    private bool _countUnsaved;
    /// <summary>The last event pushed by this activation: the next read starts after it.</summary>
    private long _pushed;
    private Task? _pushing;
    private readonly SemaphoreSlim _appending = new(1, 1);

    public SenderGrain([PersistentState("sender", StorageNames.Platform)] IPersistentState<SenderState> state,
        TimeProvider time, WakeUps wakeUps, IHttpClientFactory http, IOptions<WebhookOptions> options, IWebhookOutbox outbox, ILogger<SenderGrain> log)
    {
        (_state, _time, _wakeUps, _http, _options, _outbox, _log) = (state, time, wakeUps, http, options.Value, outbox, log);
        _writer = new CoalescingWriter(() => _state.WriteStateAsync());
    }

    private SenderState S => _state.State;
    private string SenderId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _pending = await _outbox.Count(SenderId);
        if (_pending > 0) Kick();
    }

    public async Task<SenderStatus> SetWebhook(Uri? webhook)
    {
        S.Webhook = webhook;
        if (webhook is null)
        {
            await _outbox.Clear(SenderId);
            _pending = 0;
        }
        S.FailedAttempts = 0;
        S.NextAttemptAt = null;
        await _writer.SaveAsync();
        Kick();
        return Status();
    }

    public async Task Notify(Guid batchId, string senderBatchId, IReadOnlyList<LetterStatusChanged> changes)
    {
        // Without a webhook there is nobody to push to; the batch's status answers instead.
        if (S.Webhook is null || changes.Count == 0) return;
        // One append at a time: runs take their sequence numbers as they are inserted, and two appends under way at once
        // may commit in the other order. The push, reading from its place, would then pass over the lower number that
        // was not yet committed when it read the higher one, and that run would wait for the next activation.
        await _appending.WaitAsync();
        try
        {
            await _outbox.Append(SenderId, [.. changes.Select(c => new WebhookEvent(
                $"{batchId:N}-{c.Letter.Row}-{c.Letter.Copy}-{c.MessageUuid:N}-{c.State}", batchId, senderBatchId, c.Letter.Row, c.Letter.Copy, c.MessageUuid, c.State, c.At, c.ErrorCode, c.ErrorText))],
                _options.EventsPerPush);
        }
        finally { _appending.Release(); }
        _pending += changes.Count;
        Kick();
    }

    public Task WakeUp()
    {
        Kick();
        return Task.CompletedTask;
    }

    public Task<SenderStatus> GetStatus() => Task.FromResult(Status());

    private SenderStatus Status() => new(SenderId, S.Webhook, (int)Math.Min(_pending, int.MaxValue), S.Delivered, S.LastError);

    private void Kick()
    {
        if (_pushing is null || _pushing.IsCompleted) _pushing = Push();
    }

    private async Task Push()
    {
        while (_pending > 0 && S.Webhook is { } webhook)
        {
            var now = _time.GetUtcNow();
            if (S.NextAttemptAt > now) return;
            var runs = await _outbox.Next(SenderId, _pushed, _options.EventsPerPush);
            if (runs.Count == 0)
            {
                _pending = 0;
                break;
            }
            var error = await Post(webhook, WebhookJson.Body(runs));
            if (error is null)
            {
                await _outbox.Remove(SenderId, runs[0].Sequence, runs[^1].Sequence);
                _pushed = runs[^1].Sequence;
                var events = runs.Sum(r => r.Count);
                _pending = Math.Max(0, _pending - events);
                S.Delivered += events;
                var recovered = S.FailedAttempts > 0;
                S.FailedAttempts = 0;
                S.NextAttemptAt = null;
                S.LastError = null;
                // The outbox is what must survive; the count of events delivered is stored now and then, not once per
                // push (two thousand writes for a million events), and at once when the webhook has recovered.
                _countUnsaved = !recovered && now - _savedAt < CountSaveInterval;
                if (_countUnsaved) continue;
                _savedAt = now;
            }
            else
            {
                S.FailedAttempts++;
                var delay = TimeSpan.FromTicks(Math.Min(_options.MaxRetry.Ticks, _options.FirstRetry.Ticks * (1L << Math.Min(S.FailedAttempts - 1, 20))));
                S.NextAttemptAt = now + delay;
                S.LastError = $"{now:O}: {error}";
                _log.LogWarning("Webhook of sender {SenderId} failed ({Error}); {Pending} events wait, next try at {RetryAt}",
                    SenderId, error, _pending, S.NextAttemptAt);
                await _writer.SaveAsync();
                await _wakeUps.Schedule(this.GetGrainId(), S.NextAttemptAt.Value);
                return;
            }
            await _writer.SaveAsync();
        }
        if (_countUnsaved)
        {
            _countUnsaved = false;
            await _writer.SaveAsync();
        }
    }

    private async Task<string?> Post(Uri webhook, string body)
    {
        using var cts = new CancellationTokenSource(_options.Timeout);
        try
        {
            using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            using var response = await _http.CreateClient(nameof(SenderGrain)).PostAsync(webhook, content, cts.Token);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            return e is OperationCanceledException ? $"no answer within {_options.Timeout.TotalSeconds:0.#} s" : e.Message;
        }
    }
}
