using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DigitalPost.Grains;

[GenerateSerializer, Alias("dp.ReceiverSystemState")]
public sealed class ReceiverSystemState
{
    [Id(0)] public bool Deactivated { get; set; }
    [Id(1)] public DateTimeOffset? ChangedAt { get; set; }
    /// <summary>Whether the organisation and the contacts have been told of the current state; a crash between the
    /// state change and the telling is finished on the next call.</summary>
    [Id(2)] public bool Announced { get; set; } = true;
    [Id(3)] public ReceiverSystemHealth Health { get; set; } = new();
    [Id(4)] public List<ReceiverSystemEvent> Events { get; set; } = [];
    [Id(5)] public DateTimeOffset? ScheduledEvaluation { get; set; }
    /// <summary>The messages' warnings and forwardings, waiting for the e-mail of their day.</summary>
    [Id(6)] public WarningDigest Warnings { get; set; } = new();
    [Id(7)] public DateTimeOffset? ScheduledDigest { get; set; }
}

/// <summary>A receiver system: aggregates the outcomes of every attempt over the rolling window and deactivates the
/// system when the policy says so. Its contact details live with the organisation.</summary>
public sealed class ReceiverSystemGrain(
    [PersistentState("receiverSystem", StorageNames.Platform)] IPersistentState<ReceiverSystemState> state,
    TimeProvider time,
    IOptions<ResendFlowOptions> options,
    WakeUps wakeUps,
    ILogger<ReceiverSystemGrain> log) : Grain, IReceiverSystemGrain
{
    private const int EventsKept = 200;
    private readonly ResendFlowOptions _options = options.Value;
    private readonly NoticeDays _days = new(options.Value.Day);
    private ReceiverSystemState S => state.State;
    private (string Cvr, string SystemId) Key => ReceiverSystemKey.Parse(this.GetPrimaryKeyString());
    private IOrganisationGrain Organisation => GrainFactory.GetGrain<IOrganisationGrain>(Key.Cvr);

    public async Task RecordOutcome(DeliveryOutcome outcome)
    {
        S.Health.Record(outcome.Kind, outcome.At, _options.DeactivationWindow);
        if (outcome.Kind is not (DeliveryOutcomeKind.Positive or DeliveryOutcomeKind.Virus)) await Evaluate();
        await state.WriteStateAsync();
    }

    public async Task RecordPositives(int count, DateTimeOffset at)
    {
        S.Health.Record(DeliveryOutcomeKind.Positive, at, _options.DeactivationWindow, count);
        await state.WriteStateAsync();
    }

    public async Task WakeUp()
    {
        await SendWarnings();
        await Evaluate();
        await state.WriteStateAsync();
    }

    /// <summary>A change of the system itself is told at once; a message's warning or forwarding waits for the e-mail
    /// of its day, which lists every message of that kind and day.</summary>
    public async Task NotifyContacts(ContactNotice notice)
    {
        if (notice.MessageUuid is null)
        {
            await Tell(notice);
            return;
        }
        var sent = await SendWarnings();
        var added = S.Warnings.Add(notice, _days.DayOf(time.GetUtcNow()));
        if (added) await ScheduleWarnings();
        if (sent || added) await state.WriteStateAsync();
    }

    private async Task Tell(ContactNotice notice)
    {
        var settings = await Settings();
        await GrainFactory.GetGrain<IEmailOutboxGrain>(0).Enqueue(ContactEmails.Compose(Key.Cvr, settings.Registration, notice));
    }

    /// <summary>Puts the e-mails of the days that are over in the outbox. Each is keyed by system, kind and day: should
    /// this activation die before it stores that they went, the next one puts them in again and the outbox drops them.</summary>
    private async Task<bool> SendWarnings()
    {
        var now = time.GetUtcNow();
        var today = _days.DayOf(now);
        var due = S.Warnings.Due(today);
        if (due.Count == 0) return false;
        var settings = await Settings();
        var outbox = GrainFactory.GetGrain<IEmailOutboxGrain>(0);
        foreach (var group in due)
        {
            await outbox.Enqueue(ContactEmails.Digest(Key.Cvr, settings.Registration, group, _days, now));
            S.Warnings.Sent(group, today);
        }
        await ScheduleWarnings();
        return true;
    }

    private async Task ScheduleWarnings()
    {
        if (S.Warnings.FirstPendingDay is not { } day) return;
        var due = _days.EndOf(day);
        if (due == S.ScheduledDigest) return;
        await wakeUps.Schedule(this.GetGrainId(), due);
        S.ScheduledDigest = due;
    }

    public async Task<ReceiverSystemStatus> Reactivate()
    {
        if (S.Deactivated)
        {
            var now = time.GetUtcNow();
            S.Deactivated = false;
            S.ChangedAt = now;
            S.Announced = false;
            S.Health.Reset();
            AddEvent(now, "reactivated by the organisation");
            await state.WriteStateAsync();
            await Announce();
            await state.WriteStateAsync();
        }
        return Status();
    }

    public Task<ReceiverSystemStatus> GetStatus() => Task.FromResult(Status());

    private async Task Evaluate()
    {
        await Announce();
        if (S.Deactivated) return;
        var settings = await Settings();
        var policy = settings.PolicyOverride ?? _options.DeactivationPolicy;
        var now = time.GetUtcNow();
        if (S.Health.ShouldDeactivate(policy, now, _options.DeactivationWindow))
        {
            S.Deactivated = true;
            S.ChangedAt = now;
            S.Announced = false;
            AddEvent(now, policy == DeactivationPolicy.Current
                ? $"deactivated: no positive business receipt since {S.Health.FailingSince:O}"
                : $"deactivated under the pre-49.0 rule: a failed delivery at {S.Health.LastFailureAt:O}");
            log.LogWarning("Receiver system {ReceiverSystem} deactivated ({Policy})", this.GetPrimaryKeyString(), policy);
            await state.WriteStateAsync();
            await Announce();
        }
        else if (S.Health.NextEvaluationAt(policy, _options.DeactivationWindow) is { } due && due != S.ScheduledEvaluation)
        {
            await wakeUps.Schedule(this.GetGrainId(), due);
            S.ScheduledEvaluation = due;
        }
    }

    /// <summary>Tells the organisation (so routing follows) and the contacts (by e-mail) of the current state.
    /// Both are idempotent, so repeating them after a crash is harmless.</summary>
    private async Task Announce()
    {
        if (S.Announced) return;
        await Organisation.ReceiverSystemStateChanged(Key.SystemId, active: !S.Deactivated);
        var kind = S.Deactivated ? ContactNoticeKind.Deactivated : ContactNoticeKind.Reactivated;
        var detail = S.Deactivated
            ? $"ingen positive forretningskvitteringer siden {S.Health.FailingSince?.UtcDateTime:yyyy-MM-dd HH:mm} UTC"
            : "genaktiveret af organisationen";
        await Tell(new ContactNotice(kind, null, S.ChangedAt!.Value, detail));
        S.Announced = true;
    }

    private async Task<ReceiverSystemSettings> Settings() =>
        await Organisation.GetReceiverSystemSettings(Key.SystemId)
        ?? throw new InvalidOperationException($"Receiver system {this.GetPrimaryKeyString()} is not registered with its organisation.");

    private void AddEvent(DateTimeOffset at, string what)
    {
        S.Events.Add(new ReceiverSystemEvent(at, what));
        if (S.Events.Count > EventsKept) S.Events.RemoveRange(0, S.Events.Count - EventsKept);
    }

    private ReceiverSystemStatus Status()
    {
        var now = time.GetUtcNow();
        var window = _options.DeactivationWindow;
        return new ReceiverSystemStatus(Key.Cvr, Key.SystemId, !S.Deactivated, S.Deactivated ? S.ChangedAt : null,
            S.Health.LastPositiveAt, S.Health.FailingSince, S.Health.PositivesWithin(now, window), S.Health.FailuresWithin(now, window), [.. S.Events]);
    }
}
