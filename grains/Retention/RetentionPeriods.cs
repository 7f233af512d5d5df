using Microsoft.Extensions.Configuration;

namespace DigitalPost.Retention;

/// <summary><c>Retention:*</c>: how often the job runs, how many rows one statement deletes, and the period for senders
/// that set none of their own.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>Days a sender's letters are kept when the sender sets no <c>Senders:{id}:RetentionDays</c>; none (the
    /// default) keeps them until an operator decides.</summary>
    public int? DefaultDays { get; set; }

    public TimeSpan Interval { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Rows a delete statement removes at most: each transaction, its locks and its WAL stay bounded.</summary>
    public int DeleteSlice { get; set; } = 10_000;
}

/// <summary>Each sender's retention period in days. A sender's own <c>Senders:{id}:RetentionDays</c> comes first: an
/// authority's retention schedule is its own legal decision (a municipality's case letters and a tax authority's
/// statements are kept for different periods), so it sits with the rest of the sender's settings. <c>Retention:DefaultDays</c>
/// covers the others, including senders no longer configured whose batches are still stored. With neither, nothing of
/// the sender is deleted: the platform does not guess a legal period.</summary>
public sealed class RetentionPeriods(IConfiguration configuration)
{
    /// <summary>The senders configured under <c>Senders</c>.</summary>
    public IEnumerable<string> ConfiguredSenders => configuration.GetSection("Senders").GetChildren().Select(s => s.Key);

    /// <summary>Whether any period is set: without one the job has nothing to do, and is not scheduled.</summary>
    public bool AnyConfigured =>
        configuration.GetSection(RetentionOptions.Section)[nameof(RetentionOptions.DefaultDays)] is { Length: > 0 }
        || ConfiguredSenders.Any(s => configuration[$"Senders:{s}:RetentionDays"] is { Length: > 0 });

    public IReadOnlyList<(string SenderId, int Days)> Of(IEnumerable<string> storedSenders)
    {
        var defaultDays = configuration.GetSection(RetentionOptions.Section).GetValue<int?>(nameof(RetentionOptions.DefaultDays));
        var periods = new List<(string, int)>();
        foreach (var sender in ConfiguredSenders.Concat(storedSenders).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var days = configuration.GetValue<int?>($"Senders:{sender}:RetentionDays") ?? defaultDays;
            if (days is not { } d) continue;
            if (d < 1) throw new InvalidOperationException($"The retention period of sender {sender} is {d} days; it must be at least 1.");
            periods.Add((sender, d));
        }
        return periods;
    }
}
