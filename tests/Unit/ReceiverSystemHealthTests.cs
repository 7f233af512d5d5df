using DigitalPost.Contracts;
using DigitalPost.Domain;

namespace DigitalPost.Tests.Unit;

public class ReceiverSystemHealthTests
{
    private static readonly TimeSpan Window = TimeSpan.FromDays(7);
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    /// <summary>Midnight UTC, so that the day-wide slices start exactly on whole days from here.</summary>
    private static readonly DateTimeOffset T0 = new(2025, 3, 3, 0, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset Day(double days) => T0 + TimeSpan.FromDays(days);

    private static ReceiverSystemHealth Health(params (DeliveryOutcomeKind Kind, DateTimeOffset At)[] outcomes)
    {
        var health = new ReceiverSystemHealth();
        foreach (var (kind, at) in outcomes) health.Record(kind, at, Window);
        return health;
    }

    [Fact]
    public void Current_policy_deactivates_only_after_a_full_window_of_failures_without_a_positive()
    {
        var health = Health(
            (DeliveryOutcomeKind.Negative, T0), (DeliveryOutcomeKind.NoReceipt, Day(3)), (DeliveryOutcomeKind.TransportError, Day(6.9)));

        Assert.Equal(T0, health.FailingSince);
        Assert.False(health.ShouldDeactivate(DeactivationPolicy.Current, T0 + Window - Tick, Window));
        Assert.True(health.ShouldDeactivate(DeactivationPolicy.Current, T0 + Window, Window));
    }

    [Fact]
    public void One_positive_receipt_inside_the_window_resets_FailingSince_and_keeps_the_system_active()
    {
        var health = Health(
            (DeliveryOutcomeKind.Negative, T0), (DeliveryOutcomeKind.Positive, Day(6)), (DeliveryOutcomeKind.Negative, Day(6.5)));

        Assert.Equal(Day(6.5), health.FailingSince);
        Assert.Equal(Day(6), health.LastPositiveAt);
        Assert.False(health.ShouldDeactivate(DeactivationPolicy.Current, T0 + Window, Window));
        Assert.False(health.ShouldDeactivate(DeactivationPolicy.Current, Day(6.5) + Window - Tick, Window));
        Assert.True(health.ShouldDeactivate(DeactivationPolicy.Current, Day(6.5) + Window, Window));
    }

    [Fact]
    public void A_virus_outcome_neither_starts_nor_resets_the_failing_run()
    {
        var onlyVirus = Health((DeliveryOutcomeKind.Virus, T0));
        Assert.Null(onlyVirus.FailingSince);
        Assert.False(onlyVirus.ShouldDeactivate(DeactivationPolicy.Current, T0 + Window, Window));
        Assert.False(onlyVirus.ShouldDeactivate(DeactivationPolicy.Pre49, Day(1), Window));

        var failingThenVirus = Health((DeliveryOutcomeKind.Negative, T0), (DeliveryOutcomeKind.Virus, Day(3)));
        Assert.Equal(T0, failingThenVirus.FailingSince);
        Assert.Null(failingThenVirus.LastPositiveAt);
        Assert.True(failingThenVirus.ShouldDeactivate(DeactivationPolicy.Current, T0 + Window, Window));
    }

    [Theory]
    [InlineData(DeliveryOutcomeKind.Negative)]
    [InlineData(DeliveryOutcomeKind.NoReceipt)]
    [InlineData(DeliveryOutcomeKind.TransportError)]
    public void Pre49_policy_deactivates_on_a_single_failure_within_the_window(DeliveryOutcomeKind failure)
    {
        var health = Health((DeliveryOutcomeKind.Positive, T0), (failure, Day(1)), (DeliveryOutcomeKind.Positive, Day(2)));

        Assert.True(health.ShouldDeactivate(DeactivationPolicy.Pre49, Day(2), Window));
        Assert.False(health.ShouldDeactivate(DeactivationPolicy.Current, Day(2), Window));
    }

    [Fact]
    public void Pre49_policy_does_not_deactivate_for_failures_older_than_the_window()
    {
        var health = Health((DeliveryOutcomeKind.Negative, T0), (DeliveryOutcomeKind.Positive, Day(1)));

        Assert.True(health.ShouldDeactivate(DeactivationPolicy.Pre49, T0 + Window - Tick, Window));
        Assert.False(health.ShouldDeactivate(DeactivationPolicy.Pre49, T0 + Window, Window));
    }

    [Fact]
    public void NextEvaluationAt_is_FailingSince_plus_the_window_for_Current_and_null_for_Pre49()
    {
        var health = Health((DeliveryOutcomeKind.Negative, Day(1)), (DeliveryOutcomeKind.Negative, Day(2)));

        Assert.Equal(Day(1) + Window, health.NextEvaluationAt(DeactivationPolicy.Current, Window));
        Assert.Null(health.NextEvaluationAt(DeactivationPolicy.Pre49, Window));
        Assert.Null(Health((DeliveryOutcomeKind.Positive, T0)).NextEvaluationAt(DeactivationPolicy.Current, Window));
    }

    [Fact]
    public void Reset_clears_the_failures_so_neither_policy_deactivates_at_once()
    {
        var health = Health((DeliveryOutcomeKind.Negative, T0), (DeliveryOutcomeKind.NoReceipt, Day(7)));
        var now = Day(7);
        Assert.True(health.ShouldDeactivate(DeactivationPolicy.Current, now, Window));
        Assert.True(health.ShouldDeactivate(DeactivationPolicy.Pre49, now, Window));

        health.Reset();

        Assert.Null(health.FailingSince);
        Assert.Null(health.NextEvaluationAt(DeactivationPolicy.Current, Window));
        Assert.False(health.ShouldDeactivate(DeactivationPolicy.Current, now, Window));
        Assert.False(health.ShouldDeactivate(DeactivationPolicy.Pre49, now, Window));
    }

    [Fact]
    public void PositivesWithin_and_FailuresWithin_count_only_the_rolling_window()
    {
        var health = Health(
            (DeliveryOutcomeKind.Positive, Day(0.1)), (DeliveryOutcomeKind.Negative, Day(0.2)),
            (DeliveryOutcomeKind.Positive, Day(3.1)), (DeliveryOutcomeKind.Positive, Day(3.2)),
            (DeliveryOutcomeKind.NoReceipt, Day(5.1)), (DeliveryOutcomeKind.Virus, Day(5.2)));

        Assert.Equal(3, health.PositivesWithin(Day(6), Window));
        Assert.Equal(2, health.FailuresWithin(Day(6), Window));

        // Eight days on, the first day has left the window; day 3 and day 5 are still in it.
        Assert.Equal(2, health.PositivesWithin(Day(8.5), Window));
        Assert.Equal(1, health.FailuresWithin(Day(8.5), Window));

        // Fifteen days on, nothing is left.
        Assert.Equal(0, health.PositivesWithin(Day(15), Window));
        Assert.Equal(0, health.FailuresWithin(Day(15), Window));
    }

    [Fact]
    public void Slices_older_than_the_window_are_pruned_when_an_outcome_is_recorded()
    {
        var health = Health((DeliveryOutcomeKind.Negative, Day(0.5)), (DeliveryOutcomeKind.Positive, Day(4.5)));
        Assert.Equal(new[] { T0, Day(4) }, health.Slices.Select(s => s.Start));

        health.Record(DeliveryOutcomeKind.Positive, Day(9.5), Window);

        Assert.Equal(new[] { Day(4), Day(9) }, health.Slices.Select(s => s.Start));
        Assert.Equal(2, health.PositivesWithin(Day(9.5), Window));
        Assert.Equal(0, health.FailuresWithin(Day(9.5), Window));
    }
}
