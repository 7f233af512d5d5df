namespace DigitalPost.Domain;

public enum ResendStep { Wait, Retry, FirstWarning, SecondWarning, Forward }

public readonly record struct ResendDecision(ResendStep Step, DateTimeOffset? WaitUntil = null)
{
    public static ResendDecision Do(ResendStep step) => new(step);
    public static ResendDecision WaitFor(DateTimeOffset until) => new(ResendStep.Wait, until);
}

/// <summary>Where one message stands in the resend flow at its current receiver system.</summary>
/// <param name="FirstFailedAt">Day 0: when delivery to this receiver system first failed.</param>
/// <param name="LastAttemptAt">When the message was last pushed.</param>
/// <param name="AttemptInFlight">A push is awaiting its receipt: no retry, but warnings and forwarding go on.</param>
/// <param name="Forwarded">The message was forwarded here on day 7 of a flow at another receiver system.</param>
public readonly record struct ResendProgress(
    DateTimeOffset FirstFailedAt,
    DateTimeOffset LastAttemptAt,
    bool FirstWarningSent,
    bool SecondWarningSent,
    bool AttemptInFlight,
    bool Forwarded = false);

/// <summary>The resend flow of release 49.0 for one message: retry on a cadence, warn on day 2 and day 5, forward on
/// day 7. A message forwarded once has waited its seven days: when it fails where it was forwarded, it is forwarded
/// on at once (from the primary, to the Virk mailbox), with no second flow. Pure: given the progress and the clock it
/// says what to do next.</summary>
public sealed class ResendFlow(ResendFlowOptions options)
{
    public ResendDecision Next(ResendProgress progress, DateTimeOffset now)
    {
        if (progress.Forwarded) return ResendDecision.Do(ResendStep.Forward);
        var forwardAt = progress.FirstFailedAt + options.ForwardAfter;
        if (now >= forwardAt) return ResendDecision.Do(ResendStep.Forward);

        var firstWarningAt = progress.FirstFailedAt + options.FirstWarningAfter;
        if (!progress.FirstWarningSent && now >= firstWarningAt) return ResendDecision.Do(ResendStep.FirstWarning);

        var secondWarningAt = progress.FirstFailedAt + options.SecondWarningAfter;
        if (!progress.SecondWarningSent && now >= secondWarningAt) return ResendDecision.Do(ResendStep.SecondWarning);

        var retryAt = progress.LastAttemptAt + options.RetryInterval;
        if (!progress.AttemptInFlight && now >= retryAt) return ResendDecision.Do(ResendStep.Retry);

        var next = forwardAt;
        if (!progress.FirstWarningSent) next = Min(next, firstWarningAt);
        else if (!progress.SecondWarningSent) next = Min(next, secondWarningAt);
        if (!progress.AttemptInFlight) next = Min(next, retryAt);
        return ResendDecision.WaitFor(next);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a <= b ? a : b;
}
