using System.Globalization;

namespace DigitalPost.Domain;

/// <summary>A configured duration as a person reads it in a message: "12 days" in production, "2 minutes" where a
/// demonstration compresses the calendar. Never "0 days" for a duration that is not zero.</summary>
public static class Durations
{
    public static string Describe(TimeSpan span)
    {
        var (amount, unit) = span switch
        {
            { Ticks: 0 } => (0, "seconds"),
            _ when span.Ticks % TimeSpan.TicksPerDay == 0 => (span.TotalDays, "day"),
            _ when span.Ticks % TimeSpan.TicksPerHour == 0 => (span.TotalHours, "hour"),
            _ when span.Ticks % TimeSpan.TicksPerMinute == 0 => (span.TotalMinutes, "minute"),
            _ => (Math.Round(span.TotalSeconds, 3), "second"),
        };
        var number = amount.ToString("0.###", CultureInfo.InvariantCulture);
        return amount == 1 ? $"1 {unit}" : unit.EndsWith('s') ? $"{number} {unit}" : $"{number} {unit}s";
    }
}
