using DigitalPost.Domain;

namespace DigitalPost.Tests.Unit;

public class ResendFlowTests
{
    private static readonly DateTimeOffset FirstFailure = TestMessages.Now;
    private static readonly ResendFlow Flow = new(new ResendFlowOptions());

    private static ResendProgress Progress(
        TimeSpan lastAttemptAfterFailure = default, bool firstWarningSent = false, bool secondWarningSent = false, bool inFlight = false) =>
        new(FirstFailure, FirstFailure + lastAttemptAfterFailure, firstWarningSent, secondWarningSent, inFlight);

    private static ResendDecision At(ResendProgress progress, TimeSpan sinceFirstFailure) => Flow.Next(progress, FirstFailure + sinceFirstFailure);

    [Fact]
    public void A_forwarded_message_that_fails_where_it_was_forwarded_is_forwarded_on_at_once_with_no_retry_or_warning()
    {
        var forwarded = Progress() with { Forwarded = true };

        Assert.Equal(ResendDecision.Do(ResendStep.Forward), At(forwarded, TimeSpan.Zero));
        Assert.Equal(ResendStep.Wait, At(Progress(), TimeSpan.Zero).Step);
    }

    [Fact]
    public void Waits_until_the_next_retry_when_nothing_is_due()
    {
        var decision = At(Progress(), TimeSpan.FromMinutes(20));

        Assert.Equal(ResendStep.Wait, decision.Step);
        Assert.Equal(FirstFailure + TimeSpan.FromHours(1), decision.WaitUntil);
    }

    [Fact]
    public void Retries_once_the_retry_interval_has_passed_since_the_last_attempt()
    {
        var progress = Progress(lastAttemptAfterFailure: TimeSpan.FromHours(3));

        Assert.Equal(ResendStep.Wait, At(progress, TimeSpan.FromHours(4) - TimeSpan.FromTicks(1)).Step);
        Assert.Equal(ResendStep.Retry, At(progress, TimeSpan.FromHours(4)).Step);
    }

    [Fact]
    public void Retry_is_suppressed_while_an_attempt_is_in_flight_but_warnings_still_fire()
    {
        var retryDue = At(Progress(inFlight: true), TimeSpan.FromHours(5));
        Assert.Equal(ResendStep.Wait, retryDue.Step);
        Assert.Equal(FirstFailure + TimeSpan.FromDays(2), retryDue.WaitUntil);

        Assert.Equal(ResendStep.FirstWarning, At(Progress(inFlight: true), TimeSpan.FromDays(2)).Step);
        Assert.Equal(ResendStep.SecondWarning, At(Progress(firstWarningSent: true, inFlight: true), TimeSpan.FromDays(5)).Step);
        Assert.Equal(ResendStep.Forward, At(Progress(firstWarningSent: true, secondWarningSent: true, inFlight: true), TimeSpan.FromDays(7)).Step);
    }

    [Fact]
    public void First_warning_is_due_at_exactly_day_2_and_not_one_tick_earlier()
    {
        var progress = Progress(lastAttemptAfterFailure: TimeSpan.FromDays(2) - TimeSpan.FromMinutes(30));

        Assert.Equal(ResendStep.Wait, At(progress, TimeSpan.FromDays(2) - TimeSpan.FromTicks(1)).Step);
        Assert.Equal(ResendStep.FirstWarning, At(progress, TimeSpan.FromDays(2)).Step);
    }

    [Fact]
    public void Second_warning_is_due_on_day_5_only_after_the_first_was_sent()
    {
        var recent = TimeSpan.FromDays(5) - TimeSpan.FromMinutes(30);

        Assert.Equal(ResendStep.Wait, At(Progress(recent, firstWarningSent: true), TimeSpan.FromDays(5) - TimeSpan.FromTicks(1)).Step);
        Assert.Equal(ResendStep.SecondWarning, At(Progress(recent, firstWarningSent: true), TimeSpan.FromDays(5)).Step);
        Assert.Equal(ResendStep.FirstWarning, At(Progress(recent, firstWarningSent: false), TimeSpan.FromDays(5)).Step);
        Assert.NotEqual(ResendStep.SecondWarning, At(Progress(recent, true, secondWarningSent: true), TimeSpan.FromDays(6)).Step);
    }

    [Fact]
    public void Forward_is_due_on_day_7_counted_from_the_first_failure_and_beats_everything()
    {
        var everythingPending = Progress(lastAttemptAfterFailure: TimeSpan.Zero);

        Assert.NotEqual(ResendStep.Forward, At(everythingPending, TimeSpan.FromDays(7) - TimeSpan.FromTicks(1)).Step);
        Assert.Equal(ResendStep.Forward, At(everythingPending, TimeSpan.FromDays(7)).Step);
        Assert.Equal(ResendStep.Forward, At(everythingPending, TimeSpan.FromDays(30)).Step);
    }

    [Fact]
    public void When_both_warnings_are_overdue_the_first_warning_comes_first()
    {
        var overdue = TimeSpan.FromDays(6);
        var progress = Progress(lastAttemptAfterFailure: overdue);

        Assert.Equal(ResendStep.FirstWarning, At(progress, overdue).Step);
        Assert.Equal(ResendStep.SecondWarning, At(progress with { FirstWarningSent = true }, overdue).Step);
    }

    [Theory]
    [InlineData(false, false, false, 0.5, 1.5)]   // retry (last attempt + 1h) beats day 2
    [InlineData(false, false, true, 0.5, 48.0)]   // in flight: day 2 is next
    [InlineData(true, false, true, 30.0, 120.0)]  // first sent, in flight: day 5
    [InlineData(true, true, true, 121.0, 168.0)]  // both sent, in flight: day 7
    [InlineData(true, false, false, 47.5, 48.5)]  // first sent: retry (47.5h + 1h) before day 5
    [InlineData(true, true, false, 167.5, 168.0)] // retry would be at 168.5h: forwarding on day 7 is earlier
    public void WaitUntil_is_the_earliest_pending_deadline(bool firstSent, bool secondSent, bool inFlight, double lastAttemptHours, double expectedHours)
    {
        var progress = Progress(TimeSpan.FromHours(lastAttemptHours), firstSent, secondSent, inFlight);

        var decision = At(progress, TimeSpan.FromHours(lastAttemptHours));

        Assert.Equal(ResendStep.Wait, decision.Step);
        Assert.Equal(FirstFailure + TimeSpan.FromHours(expectedHours), decision.WaitUntil);
    }

    [Theory]
    [InlineData(nameof(ResendFlowOptions.RetryInterval))]
    [InlineData(nameof(ResendFlowOptions.ReceiptTimeout))]
    [InlineData(nameof(ResendFlowOptions.FirstWarningAfter))]
    [InlineData(nameof(ResendFlowOptions.DeactivationWindow))]
    [InlineData(nameof(ResendFlowOptions.MaxValoerAhead))]
    [InlineData(nameof(ResendFlowOptions.PushTimeout))]
    public void Validate_rejects_a_non_positive_duration_naming_the_setting(string setting)
    {
        foreach (var value in new[] { TimeSpan.Zero, TimeSpan.FromSeconds(-1) })
        {
            var options = new ResendFlowOptions();
            typeof(ResendFlowOptions).GetProperty(setting)!.SetValue(options, value);

            var error = Assert.ThrowsAny<ArgumentException>(options.Validate);

            Assert.Contains(setting, error.Message);
        }
    }

    [Theory]
    [InlineData(2, 2, 7, nameof(ResendFlowOptions.SecondWarningAfter))]
    [InlineData(3, 2, 7, nameof(ResendFlowOptions.SecondWarningAfter))]
    [InlineData(2, 7, 7, nameof(ResendFlowOptions.ForwardAfter))]
    [InlineData(2, 5, 4, nameof(ResendFlowOptions.ForwardAfter))]
    public void Validate_rejects_warning_and_forward_durations_that_do_not_increase(int first, int second, int forward, string setting)
    {
        var options = new ResendFlowOptions
        {
            FirstWarningAfter = TimeSpan.FromDays(first),
            SecondWarningAfter = TimeSpan.FromDays(second),
            ForwardAfter = TimeSpan.FromDays(forward),
        };

        var error = Assert.ThrowsAny<ArgumentException>(options.Validate);

        Assert.Contains(setting, error.Message);
    }

    [Fact]
    public void Validate_accepts_the_defaults_and_a_shrunken_demo_configuration()
    {
        new ResendFlowOptions().Validate();
        new ResendFlowOptions
        {
            RetryInterval = TimeSpan.FromMilliseconds(200),
            FirstWarningAfter = TimeSpan.FromSeconds(2),
            SecondWarningAfter = TimeSpan.FromSeconds(5),
            ForwardAfter = TimeSpan.FromSeconds(7),
            DeactivationWindow = TimeSpan.FromSeconds(7),
        }.Validate();
    }
}
