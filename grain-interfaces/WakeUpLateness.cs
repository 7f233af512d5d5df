namespace DigitalPost.Contracts;

/// <summary>How late wake-ups fired (the moment the target's wake-up completed, less its due time, on the platform's
/// clock), as a histogram since the shards started. Cumulative, so two readings subtract to the wake-ups between
/// them, and shards add up. Buckets are exact below 16 ms and then 8 per doubling (at most 12.5% wide), so a
/// percentile read from them is its bucket's upper bound: never below the true value, at most an eighth above.</summary>
[GenerateSerializer, Immutable, Alias("dp.WakeUpLateness")]
public sealed record WakeUpLateness([property: Id(0)] long[] Counts, [property: Id(1)] long MaxMilliseconds)
{
    private const int Exact = 16;
    private const int PerDoubling = 8;
    private const int Doublings = 40; // 2^44 ms is centuries: nothing is that late.
    public const int BucketCount = Exact + Doublings * PerDoubling;

    public static WakeUpLateness None { get; } = new(new long[BucketCount], 0);

    public long Fired => Counts.Sum();

    public static int BucketOf(long milliseconds)
    {
        if (milliseconds < Exact) return (int)Math.Max(0, milliseconds);
        var octave = 63 - (int)long.LeadingZeroCount(milliseconds); // ≥ 4
        var sub = (int)(milliseconds >> (octave - 3)) & (PerDoubling - 1);
        return Math.Min(BucketCount - 1, Exact + (octave - 4) * PerDoubling + sub);
    }

    /// <summary>The largest lateness, in milliseconds, that falls in <paramref name="bucket"/>.</summary>
    public static long UpperBoundOf(int bucket)
    {
        if (bucket < Exact) return bucket;
        var octave = (bucket - Exact) / PerDoubling + 4;
        var sub = (bucket - Exact) % PerDoubling;
        return ((PerDoubling + sub + 1L) << (octave - 3)) - 1;
    }

    /// <summary>The lateness in milliseconds that <paramref name="fraction"/> of the wake-ups did not exceed; null when none fired.</summary>
    public long? Percentile(double fraction)
    {
        var total = Fired;
        if (total == 0) return null;
        var rank = Math.Max(1, (long)Math.Ceiling(fraction * total));
        long seen = 0;
        for (var bucket = 0; bucket < Counts.Length; bucket++)
        {
            seen += Counts[bucket];
            if (seen >= rank) return Math.Min(UpperBoundOf(bucket), MaxMilliseconds);
        }
        return MaxMilliseconds;
    }

    /// <summary>The largest lateness among the counted wake-ups: exact for a whole histogram, the top non-empty
    /// bucket's bound (capped by the whole maximum) for a difference of two.</summary>
    public long? Max
    {
        get
        {
            for (var bucket = Counts.Length - 1; bucket >= 0; bucket--)
                if (Counts[bucket] > 0) return Math.Min(UpperBoundOf(bucket), MaxMilliseconds);
            return null;
        }
    }

    public static WakeUpLateness operator +(WakeUpLateness a, WakeUpLateness b) =>
        new(a.Counts.Zip(b.Counts, (x, y) => x + y).ToArray(), Math.Max(a.MaxMilliseconds, b.MaxMilliseconds));

    /// <summary>The wake-ups counted in <paramref name="later"/> but not in <paramref name="earlier"/>, a reading of the same shards.</summary>
    public static WakeUpLateness operator -(WakeUpLateness later, WakeUpLateness earlier) =>
        new(later.Counts.Zip(earlier.Counts, (x, y) => Math.Max(0, x - y)).ToArray(), later.MaxMilliseconds);
}
