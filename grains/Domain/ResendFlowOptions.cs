using DigitalPost.Contracts;

namespace DigitalPost.Domain;

/// <summary>Every duration of the resend flow (gensendelsesflow). Defaults are the national solution's; a test or a
/// demonstration shrinks them so that seven days pass in seconds.</summary>
public sealed class ResendFlowOptions
{
    public const string Section = "ResendFlow";

    /// <summary>How often a failing message is pushed again to the same receiver system.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A pushed message with no business receipt after this long has failed.</summary>
    public TimeSpan ReceiptTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>"Day 2": the first warning e-mail, counted from the first failure.</summary>
    public TimeSpan FirstWarningAfter { get; set; } = TimeSpan.FromDays(2);

    /// <summary>"Day 5": the second warning e-mail.</summary>
    public TimeSpan SecondWarningAfter { get; set; } = TimeSpan.FromDays(5);

    /// <summary>"Day 7": the message alone is forwarded to the primary receiver system, or to Virk.</summary>
    public TimeSpan ForwardAfter { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The rolling window over which a receiver system must return one positive receipt to stay active.</summary>
    public TimeSpan DeactivationWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The length of a day on the platform's clock: warning e-mails are grouped per day (one per receiver
    /// system, kind and day). A day in production; the Demo environment's 10 seconds.</summary>
    public TimeSpan Day { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How far ahead a valør date (doNotDeliverUntilDate) may lie.</summary>
    public TimeSpan MaxValoerAhead { get; set; } = TimeSpan.FromDays(12);

    /// <summary>The platform-wide rule; an organisation may override it.</summary>
    public DeactivationPolicy DeactivationPolicy { get; set; } = DeactivationPolicy.Current;

    /// <summary>How long one HTTP push to a receiver system may take before it counts as a transport failure.</summary>
    public TimeSpan PushTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws with the name of the first setting that makes the flow meaningless.</summary>
    public void Validate()
    {
        void Positive(TimeSpan value, string name)
        {
            if (value <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(name, value, $"{Section}:{name} must be positive.");
        }

        Positive(RetryInterval, nameof(RetryInterval));
        Positive(ReceiptTimeout, nameof(ReceiptTimeout));
        Positive(FirstWarningAfter, nameof(FirstWarningAfter));
        Positive(Day, nameof(Day));
        Positive(DeactivationWindow, nameof(DeactivationWindow));
        Positive(MaxValoerAhead, nameof(MaxValoerAhead));
        Positive(PushTimeout, nameof(PushTimeout));
        if (!(FirstWarningAfter < SecondWarningAfter && SecondWarningAfter < ForwardAfter))
            throw new ArgumentException(
                $"{Section}: FirstWarningAfter ({FirstWarningAfter}) < SecondWarningAfter ({SecondWarningAfter}) < ForwardAfter ({ForwardAfter}) must hold.");
    }
}
