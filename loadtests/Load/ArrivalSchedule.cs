namespace ServingGateway.LoadTool.Load;

/// <summary>
/// When each request of an open-loop run is meant to be sent: a sequence of segments, each at a
/// constant rate or a rate that changes linearly (a ramp). Request <c>k</c> of a segment is due
/// when the area under the rate curve reaches <c>k</c>: for a constant rate <c>r</c> at
/// <c>k / r</c>; for a ramp from <c>r0</c> to <c>r1</c> over <c>D</c> at the <c>t</c> solving
/// <c>r0·t + (r1 − r0)·t² / 2D = k</c>. A segment holds <c>floor(area)</c> requests.
/// </summary>
internal sealed class ArrivalSchedule
{
    private readonly Segment[] _segments;

    private ArrivalSchedule(Segment[] segments)
    {
        _segments = segments;
        Count = segments.Sum(s => s.Count);
        Duration = segments.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Duration);
    }

    /// <summary>How many requests the schedule sends.</summary>
    public long Count { get; }

    /// <summary>How long the schedule lasts.</summary>
    public TimeSpan Duration { get; }

    /// <summary>A constant <paramref name="rate"/> (requests per second) for <paramref name="duration"/>.</summary>
    public static ArrivalSchedule Constant(double rate, TimeSpan duration) => Ramp(rate, rate, duration);

    /// <summary>A rate going linearly from <paramref name="from"/> to <paramref name="to"/> over <paramref name="duration"/>.</summary>
    public static ArrivalSchedule Ramp(double from, double to, TimeSpan duration) =>
        new([Segment.Create(TimeSpan.Zero, 0, from, to, duration)]);

    /// <summary>This schedule preceded by <paramref name="warmup"/> at a constant <paramref name="rate"/>.</summary>
    public ArrivalSchedule WithWarmup(double rate, TimeSpan warmup)
    {
        if (warmup <= TimeSpan.Zero)
        {
            return this;
        }

        var first = Segment.Create(TimeSpan.Zero, 0, rate, rate, warmup);
        var shifted = _segments.Select(s => s with
        {
            Start = s.Start + warmup,
            FirstIndex = s.FirstIndex + first.Count,
        });
        return new([first, .. shifted]);
    }

    /// <summary>The intended send time of request <paramref name="index"/>, from the schedule's start.</summary>
    public TimeSpan OffsetOf(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        foreach (var segment in _segments)
        {
            if (index < segment.FirstIndex + segment.Count)
            {
                return segment.Start + segment.OffsetWithin(index - segment.FirstIndex);
            }
        }

        throw new InvalidOperationException("unreachable: the index is below Count");
    }

    /// <summary>The rate at <paramref name="offset"/> from the start, requests per second.</summary>
    public double RateAt(TimeSpan offset)
    {
        foreach (var segment in _segments)
        {
            if (offset < segment.Start + segment.Duration)
            {
                var t = Math.Max(0, (offset - segment.Start).TotalSeconds);
                return segment.From + ((segment.To - segment.From) * t / segment.Duration.TotalSeconds);
            }
        }

        return _segments.Length == 0 ? 0 : _segments[^1].To;
    }

    private sealed record Segment(TimeSpan Start, long FirstIndex, long Count, double From, double To, TimeSpan Duration)
    {
        public static Segment Create(TimeSpan start, long firstIndex, double from, double to, TimeSpan duration)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(from);
            ArgumentOutOfRangeException.ThrowIfNegative(to);
            var area = (from + to) / 2 * duration.TotalSeconds;
            // The epsilon keeps 0.1 req/s × 10 s at one request despite binary fractions.
            return new Segment(start, firstIndex, (long)Math.Floor(area + 1e-9), from, to, duration);
        }

        public TimeSpan OffsetWithin(long k)
        {
            if (k == 0)
            {
                return TimeSpan.Zero;
            }

            // r0·t + a·t² = k with a = (r1 − r0) / 2D. t = 2k / (r0 + √(r0² + 4ak)) is the root that
            // holds for a = 0 too and does not cancel when a is small.
            var a = (To - From) / (2 * Duration.TotalSeconds);
            var discriminant = Math.Max(0, (From * From) + (4 * a * k));
            var seconds = 2.0 * k / (From + Math.Sqrt(discriminant));
            return TimeSpan.FromSeconds(seconds);
        }
    }
}
