namespace ServingGateway.Deployments;

/// <summary>
/// Latencies in fixed log-spaced buckets (5% wide, 10 µs to about 10 minutes): bounded memory whatever the traffic,
/// lock-free recording, quantiles within 5%. One per version per analysis window.
/// </summary>
internal sealed class LatencyHistogram
{
    private const double Smallest = 0.01; // ms
    private static readonly double Growth = Math.Log(1.05);
    private readonly long[] _buckets = new long[400];
    private long _count;

    public long Count => Volatile.Read(ref _count);

    public void Record(double milliseconds)
    {
        var index = milliseconds <= Smallest ? 0 : (int)Math.Min(_buckets.Length - 1, Math.Ceiling(Math.Log(milliseconds / Smallest) / Growth));
        Interlocked.Increment(ref _buckets[index]);
        Interlocked.Increment(ref _count);
    }

    /// <summary>The <paramref name="quantile"/> (0-1) as its bucket's upper bound in milliseconds; NaN when empty.</summary>
    public double Quantile(double quantile)
    {
        var counts = new long[_buckets.Length];
        long total = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = Volatile.Read(ref _buckets[i]);
            total += counts[i];
        }

        if (total == 0)
        {
            return double.NaN;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(quantile * total));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return Smallest * Math.Exp(i * Growth);
            }
        }

        return Smallest * Math.Exp((counts.Length - 1) * Growth);
    }
}
