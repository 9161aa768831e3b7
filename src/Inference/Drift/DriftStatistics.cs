namespace ServingGateway.Inference.Drift;

/// <summary>
/// Drift: the population stability index (PSI) and the two-sample Kolmogorov-Smirnov statistic over binned
/// distributions, and the quantile edges of the continuous bins.
/// </summary>
internal static class DriftStatistics
{
    /// <summary>The floor of a bin's share, so an empty bin on one side gives a large but finite PSI term (the usual 1e-4).</summary>
    public const double Epsilon = 1e-4;

    /// <summary>
    /// PSI = sum over bins of (live - reference) x ln(live / reference), shares floored at <see cref="Epsilon"/>:
    /// 0 for the same distribution, below 0.1 read as stable, above 0.2 as a significant shift.
    /// </summary>
    /// <param name="reference">The reference share of each bin (summing to 1).</param>
    /// <param name="live">The live count of each bin, as many bins as <paramref name="reference"/>.</param>
    public static double Psi(ReadOnlySpan<double> reference, ReadOnlySpan<long> live)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(live.Length, reference.Length);
        var total = Sum(live);
        if (total == 0)
        {
            return double.NaN;
        }

        var psi = 0.0;
        for (var i = 0; i < reference.Length; i++)
        {
            var expected = Math.Max(reference[i], Epsilon);
            var actual = Math.Max(live[i] / (double)total, Epsilon);
            psi += (actual - expected) * Math.Log(actual / expected);
        }

        return psi;
    }

    /// <summary>
    /// The Kolmogorov-Smirnov statistic over the bins: the largest gap between the reference's and the live
    /// cumulative shares at a bin edge. Over the reference's quantile bins it is a lower bound of the KS of the raw values.
    /// </summary>
    public static double Ks(ReadOnlySpan<double> reference, ReadOnlySpan<long> live)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(live.Length, reference.Length);
        var total = Sum(live);
        if (total == 0)
        {
            return double.NaN;
        }

        double expected = 0, actual = 0, ks = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            expected += reference[i];
            actual += live[i] / (double)total;
            ks = Math.Max(ks, Math.Abs(actual - expected));
        }

        return ks;
    }

    /// <summary>
    /// The edges of up to <paramref name="bins"/> equal-frequency bins of <paramref name="values"/> (sorted in place):
    /// the inner quantiles, duplicates removed, so a constant feature has one edge and two bins.
    /// A value v falls in the first bin whose edge is at least v (<see cref="BinOf"/>).
    /// </summary>
    public static double[] QuantileEdges(Span<double> values, int bins)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 2);
        if (values.IsEmpty)
        {
            return [0];
        }

        values.Sort();
        var edges = new List<double>(bins - 1);
        for (var q = 1; q < bins; q++)
        {
            var edge = values[Math.Min(values.Length - 1, (int)((long)q * values.Length / bins))];
            if (edges.Count == 0 || edge > edges[^1])
            {
                edges.Add(edge);
            }
        }

        return [.. edges];
    }

    /// <summary>The bin of <paramref name="value"/> among <paramref name="edges"/>: the first edge at least value, or the last bin.</summary>
    public static int BinOf(ReadOnlySpan<double> edges, double value)
    {
        int low = 0, high = edges.Length;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (edges[mid] < value)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }

    private static long Sum(ReadOnlySpan<long> counts)
    {
        long total = 0;
        foreach (var count in counts)
        {
            total += count;
        }

        return total;
    }
}
