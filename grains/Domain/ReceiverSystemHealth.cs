using DigitalPost.Contracts;

namespace DigitalPost.Domain;

/// <summary>The receipts a receiver system returned, aggregated over a rolling window, and the deactivation rule.
/// The data is grain state; the rules are plain methods so they are tested without a cluster.</summary>
[GenerateSerializer, Alias("dp.ReceiverSystemHealth")]
public sealed class ReceiverSystemHealth
{
    [Id(0)] public DateTimeOffset? LastPositiveAt { get; private set; }

    /// <summary>The first failure after the last positive receipt: the start of the current failing run.</summary>
    [Id(1)] public DateTimeOffset? FailingSince { get; private set; }

    [Id(2)] public DateTimeOffset? LastFailureAt { get; private set; }

    /// <summary>Counts per slice of the window (a seventh of it: a day by default), oldest first.</summary>
    [Id(3)] public List<HealthSlice> Slices { get; private set; } = [];

    public void Record(DeliveryOutcomeKind kind, DateTimeOffset at, TimeSpan window, int count = 1)
    {
        var slice = SliceAt(at, window);
        switch (kind)
        {
            case DeliveryOutcomeKind.Positive:
                slice.Positives += count;
                if (LastPositiveAt is null || at > LastPositiveAt) LastPositiveAt = at;
                FailingSince = null;
                break;
            case DeliveryOutcomeKind.Virus:
                // A virus report proves the system answers; it neither keeps the system alive nor counts against it.
                slice.Viruses += count;
                break;
            default:
                slice.Failures += count;
                FailingSince ??= at;
                if (LastFailureAt is null || at > LastFailureAt) LastFailureAt = at;
                break;
        }
        Prune(at, window);
    }

    public bool ShouldDeactivate(DeactivationPolicy policy, DateTimeOffset now, TimeSpan window) => policy switch
    {
        // Release 49.0: not one positive receipt on any message or attempt for the whole window.
        DeactivationPolicy.Current => FailingSince is { } since && now - since >= window,
        // Before 49.0: one negative (or missing) receipt within the window was enough.
        DeactivationPolicy.Pre49 => LastFailureAt is { } last && now - last < window,
        _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, null),
    };

    /// <summary>When the rule must be evaluated again even if no receipt arrives, or null if nothing is pending.</summary>
    public DateTimeOffset? NextEvaluationAt(DeactivationPolicy policy, TimeSpan window) =>
        policy == DeactivationPolicy.Current ? FailingSince + window : null;

    /// <summary>A reactivated system starts with a clean slate: old failures must not deactivate it again at once.</summary>
    public void Reset()
    {
        FailingSince = null;
        LastFailureAt = null;
    }

    public int PositivesWithin(DateTimeOffset now, TimeSpan window) => Slices.Where(s => s.Start > now - window).Sum(s => s.Positives);

    public int FailuresWithin(DateTimeOffset now, TimeSpan window) => Slices.Where(s => s.Start > now - window).Sum(s => s.Failures);

    private HealthSlice SliceAt(DateTimeOffset at, TimeSpan window)
    {
        var width = window / 7;
        var start = new DateTimeOffset(at.UtcTicks - at.UtcTicks % width.Ticks, TimeSpan.Zero);
        var slice = Slices.Find(s => s.Start == start);
        if (slice is null)
        {
            slice = new HealthSlice { Start = start };
            Slices.Add(slice);
            Slices.Sort((a, b) => a.Start.CompareTo(b.Start));
        }
        return slice;
    }

    private void Prune(DateTimeOffset now, TimeSpan window) => Slices.RemoveAll(s => s.Start + window / 7 <= now - window);
}

[GenerateSerializer, Alias("dp.HealthSlice")]
public sealed class HealthSlice
{
    [Id(0)] public DateTimeOffset Start { get; set; }
    [Id(1)] public int Positives { get; set; }
    [Id(2)] public int Failures { get; set; }
    [Id(3)] public int Viruses { get; set; }
}
