using DigitalPost.Contracts;

namespace DigitalPost.Domain;

/// <summary>One message's warning or forwarding notice, waiting for the e-mail of its day (or listed in one).</summary>
[GenerateSerializer, Immutable, Alias("dp.GroupedNotice")]
public sealed record GroupedNotice(
    [property: Id(0)] ContactNoticeKind Kind,
    /// <summary>The platform day it was noticed on (<see cref="NoticeDays"/>).</summary>
    [property: Id(1)] long Day,
    [property: Id(2)] Guid MessageUuid,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] string Detail);

/// <summary>The notices of one kind on one day: one e-mail.</summary>
public sealed record NoticeGroup(ContactNoticeKind Kind, long Day, IReadOnlyList<GroupedNotice> Notices);

/// <summary>Days on the platform's clock, each <paramref name="length"/> long (a day in production, 10 s in the Demo
/// environment), counted from 0001-01-01 UTC: in production a day runs from midnight to midnight UTC.</summary>
public sealed class NoticeDays(TimeSpan length)
{
    public long DayOf(DateTimeOffset at) => at.UtcTicks / length.Ticks;
    public DateTimeOffset StartOf(long day) => new(day * length.Ticks, TimeSpan.Zero);
    public DateTimeOffset EndOf(long day) => StartOf(day + 1);
}

/// <summary>A receiver system's warning e-mails, grouped: per notice kind (day 2, day 5, day 7) and platform day, one
/// e-mail listing every message that reached that step on that day, sent once the day is over. A message is listed
/// once per kind, however often its step repeats (a message grain that redoes a step after a crash notices again).</summary>
[GenerateSerializer, Alias("dp.WarningDigest")]
public sealed class WarningDigest
{
    /// <summary>Notices whose day's e-mail has not been sent.</summary>
    [Id(0)] public List<GroupedNotice> Pending { get; set; } = [];
    /// <summary>Notices in e-mails already sent, kept until the day after theirs: a repeat that comes late is not listed
    /// again.</summary>
    [Id(1)] public List<GroupedNotice> Listed { get; set; } = [];

    /// <summary>Takes the message's notice on <paramref name="day"/>; false when the message is listed for this kind already.</summary>
    public bool Add(ContactNotice notice, long day)
    {
        var uuid = notice.MessageUuid ?? throw new ArgumentException("A notice about the system itself is not grouped.", nameof(notice));
        if (Pending.Concat(Listed).Any(n => n.Kind == notice.Kind && n.MessageUuid == uuid)) return false;
        Pending.Add(new GroupedNotice(notice.Kind, day, uuid, notice.At, notice.Detail));
        return true;
    }

    /// <summary>The groups whose day ended before <paramref name="today"/>, by day then kind, each message in the order noticed.</summary>
    public IReadOnlyList<NoticeGroup> Due(long today) =>
        [.. Pending.Where(n => n.Day < today).GroupBy(n => (n.Day, n.Kind)).OrderBy(g => g.Key.Day).ThenBy(g => g.Key.Kind)
            .Select(g => new NoticeGroup(g.Key.Kind, g.Key.Day, [.. g]))];

    /// <summary>The group's e-mail is in the outbox: its notices move to the listed ones, and listed ones older than
    /// yesterday are forgotten.</summary>
    public void Sent(NoticeGroup group, long today)
    {
        Pending.RemoveAll(n => n.Kind == group.Kind && n.Day == group.Day);
        Listed.AddRange(group.Notices);
        Listed.RemoveAll(n => n.Day < today - 1);
    }

    /// <summary>The earliest day with notices waiting, if any: its end is when the next e-mail is due.</summary>
    public long? FirstPendingDay => Pending.Count == 0 ? null : Pending.Min(n => n.Day);
}
