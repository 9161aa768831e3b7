namespace ServingGateway.Inference.Metrics;

/// <summary>
/// The buckets of a version's request-duration counts (<see cref="VersionReading.LatencyCounts"/>): bucket 0 holds
/// durations up to 50 µs, bucket i up to 50 µs × 2^(i/2) (each bound √2 times the last, so a quantile read from
/// them is off by at most that factor, about ±20% after interpolation), and the last bucket everything above
/// 50 µs × 2^20 (about 52 s). Counts are cumulative since the version loaded; quantiles over an interval come from
/// the difference of two readings.
/// </summary>
public static class LatencyBuckets
{
    /// <summary>The number of buckets.</summary>
    public const int Count = 42;

    private const double FirstBoundNs = 50_000;

    private static readonly double[] UpperBoundsNs = [.. Enumerable.Range(0, Count).Select(i => FirstBoundNs * Math.Pow(2, i / 2.0))];

    /// <summary>The bucket of a duration in nanoseconds.</summary>
    public static int IndexOf(double nanoseconds) =>
        nanoseconds <= FirstBoundNs ? 0 : Math.Min(Count - 1, (int)Math.Ceiling(2 * Math.Log2(nanoseconds / FirstBoundNs)));

    /// <summary>The upper bound of bucket <paramref name="index"/> in milliseconds (the last bucket has none: its lower bound is the largest known).</summary>
    public static double UpperBoundMs(int index) => UpperBoundsNs[Math.Clamp(index, 0, Count - 1)] / 1_000_000;

    /// <summary>
    /// The <paramref name="quantile"/> (0 to 1) of the durations counted in <paramref name="counts"/> (one count per
    /// bucket), in milliseconds, interpolated linearly within its bucket as Prometheus' histogram_quantile does;
    /// null when nothing was counted.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="counts"/> does not have <see cref="Count"/> entries.</exception>
    public static double? QuantileMs(ReadOnlySpan<long> counts, double quantile)
    {
        if (counts.Length != Count)
        {
            throw new ArgumentException($"expected {Count} bucket counts, got {counts.Length}", nameof(counts));
        }

        long total = 0;
        foreach (var count in counts)
        {
            total += count;
        }

        if (total <= 0)
        {
            return null;
        }

        var rank = Math.Clamp(quantile, 0, 1) * total;
        long below = 0;
        for (var i = 0; i < Count; i++)
        {
            var count = counts[i];
            if (count > 0 && below + count >= rank)
            {
                var lower = i == 0 ? 0 : UpperBoundMs(i - 1);
                if (i == Count - 1)
                {
                    return lower; // the open-ended bucket: its lower bound, as histogram_quantile does for +Inf
                }

                return lower + ((UpperBoundMs(i) - lower) * Math.Max(0, rank - below) / count);
            }

            below += count;
        }

        return UpperBoundMs(Count - 2);
    }
}
