using DigitalPost.Contracts;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace DigitalPost.Grains;

[GenerateSerializer, Alias("dp.OutboxState"), SnapshotOnWrite]
public sealed class OutboxState
{
    [Id(0)] public List<PendingEmail> Pending { get; set; } = [];
    /// <summary>Ids of recently sent e-mails, so a repeated enqueue (a grain redoing a step after a crash) is ignored.</summary>
    [Id(1)] public List<string> RecentlySent { get; set; } = [];
    [Id(2)] public long SentCount { get; set; }
    [Id(3)] public string? LastError { get; set; }
}

[GenerateSerializer, Immutable, Alias("dp.PendingEmail")]
public sealed record PendingEmail(
    [property: Id(0)] OutboxEmail Email,
    [property: Id(1)] DateTimeOffset NextAttemptAt,
    [property: Id(2)] int Attempts = 0,
    [property: Id(3)] string? LastError = null);

/// <summary>The durable e-mail outbox: an e-mail is stored before anyone relies on it being sent, sent in order,
/// retried with back-off, and forgotten only once the SMTP server took it. Reentrant so that enqueuing never
/// waits for the SMTP server.</summary>
[Reentrant]
public sealed class EmailOutboxGrain : Grain, IEmailOutboxGrain
{
    private const int RecentlySentKept = 50_000;
    private const int BatchSize = 50;
    private static readonly TimeSpan SafetyNet = TimeSpan.FromMinutes(1);
    private readonly IPersistentState<OutboxState> _state;
    private readonly TimeProvider _time;
    private readonly IEmailSender _sender;
    private readonly WakeUps _wakeUps;
    private readonly ILogger<EmailOutboxGrain> _log;
    private readonly CoalescingWriter _writer;
    private Task? _dispatching;
    private OutboxState _live = new();

    public EmailOutboxGrain(
        [PersistentState("outbox", StorageNames.Platform)] IPersistentState<OutboxState> state,
        TimeProvider time, IEmailSender sender, WakeUps wakeUps, ILogger<EmailOutboxGrain> log)
    {
        _state = state;
        _time = time;
        _sender = sender;
        _wakeUps = wakeUps;
        _log = log;
        _writer = new CoalescingWriter(() =>
        {
            // A fresh snapshot per write: the live state keeps changing while the storage provider serialises.
            var live = _live;
            _state.State = new OutboxState { Pending = [.. live.Pending], RecentlySent = [.. live.RecentlySent], SentCount = live.SentCount, LastError = live.LastError };
            return _state.WriteStateAsync();
        });
    }

    private OutboxState S => _live;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _live = _state.State;
        if (S.Pending.Count > 0) Kick();
        return Task.CompletedTask;
    }

    public async Task Enqueue(OutboxEmail email)
    {
        if (S.Pending.Any(p => p.Email.Id == email.Id) || S.RecentlySent.Contains(email.Id)) return;
        var now = _time.GetUtcNow();
        S.Pending.Add(new PendingEmail(email, now));
        await _writer.SaveAsync();
        // Should this activation die before sending, the schedule brings the outbox back.
        await _wakeUps.Schedule(this.GetGrainId(), now + SafetyNet);
        Kick();
    }

    public Task WakeUp()
    {
        Kick();
        return Task.CompletedTask;
    }

    public Task<OutboxStatus> GetStatus() => Task.FromResult(new OutboxStatus(
        S.Pending.Count, S.SentCount, S.Pending.Count == 0 ? null : S.Pending.Min(p => p.Email.CreatedAt), S.LastError));

    private void Kick()
    {
        if (_dispatching is null || _dispatching.IsCompleted) _dispatching = Dispatch();
    }

    private async Task Dispatch()
    {
        while (true)
        {
            var now = _time.GetUtcNow();
            var due = S.Pending.Where(p => p.NextAttemptAt <= now).Take(BatchSize).ToList();
            if (due.Count == 0) break;

            var sent = new HashSet<string>();
            Exception? failure = null;
            try { await _sender.Send([.. due.Select(p => p.Email)], e => sent.Add(e.Id), CancellationToken.None); }
            catch (Exception e) { failure = e; }

            S.Pending.RemoveAll(p => sent.Contains(p.Email.Id));
            S.RecentlySent.AddRange(sent);
            if (S.RecentlySent.Count > RecentlySentKept) S.RecentlySent.RemoveRange(0, S.RecentlySent.Count - RecentlySentKept);
            S.SentCount += sent.Count;
            if (failure is not null)
            {
                var failed = due.First(p => !sent.Contains(p.Email.Id));
                var attempts = failed.Attempts + 1;
                var retryAt = now + TimeSpan.FromSeconds(Math.Min(600, 5 * Math.Pow(2, attempts - 1)));
                S.Pending[S.Pending.FindIndex(p => p.Email.Id == failed.Email.Id)] = failed with { Attempts = attempts, NextAttemptAt = retryAt, LastError = failure.Message };
                S.LastError = $"{now:O}: {failure.Message}";
                _log.LogWarning(failure, "Sending e-mail {EmailId} failed (attempt {Attempts}); retrying at {RetryAt}", failed.Email.Id, attempts, retryAt);
                await _writer.SaveAsync();
                await _wakeUps.Schedule(this.GetGrainId(), retryAt);
                return;
            }
            S.LastError = null;
            await _writer.SaveAsync();
        }
    }
}
