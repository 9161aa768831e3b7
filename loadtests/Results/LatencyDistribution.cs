using HdrHistogram;

namespace ServingGateway.LoadTool.Results;

/// <summary>
/// A frozen HdrHistogram of latencies recorded in microseconds (1 µs to 1 h, 3 significant
/// digits), read in milliseconds.
/// </summary>
internal sealed class LatencyDistribution
{
    /// <summary>The largest value recorded; longer latencies are recorded as this.</summary>
    public const long HighestMicros = 3_600_000_000;

    /// <summary>The percentiles every report shows.</summary>
    public static readonly double[] ReportedPercentiles = [50, 75, 90, 95, 99, 99.9];

    private readonly HistogramBase _histogram;

    public LatencyDistribution(HistogramBase histogram)
    {
        _histogram = histogram;
    }

    /// <summary>An empty histogram with this class's range and precision.</summary>
    public static LongHistogram CreateHistogram() => new(1, HighestMicros, 3);

    /// <summary>Records <paramref name="micros"/> into <paramref name="histogram"/>, clamped to the range.</summary>
    public static void Record(HistogramBase histogram, long micros) =>
        histogram.RecordValue(Math.Clamp(micros, 1, HighestMicros));

    public long Count => _histogram.TotalCount;

    public double MeanMs => Count == 0 ? 0 : _histogram.GetMean() / 1000.0;

    public double MaxMs => Count == 0 ? 0 : _histogram.GetMaxValue() / 1000.0;

    /// <summary>The latency at <paramref name="percentile"/> (0 to 100), ms; 0 when nothing was recorded.</summary>
    public double PercentileMs(double percentile) =>
        Count == 0 ? 0 : _histogram.GetValueAtPercentile(percentile) / 1000.0;

    /// <summary>How many latencies were recorded at or above <paramref name="ms"/> (to the histogram's precision).</summary>
    public long CountAtOrAbove(double ms)
    {
        var micros = _histogram.LowestEquivalentValue((long)(ms * 1000));
        long count = 0;
        foreach (var value in _histogram.RecordedValues())
        {
            if (value.ValueIteratedTo >= micros)
            {
                count += value.CountAtValueIteratedTo;
            }
        }

        return count;
    }

    /// <summary>
    /// The percentile distribution as HdrHistogram prints it (5 steps per halving of the remaining
    /// tail): (percentile, latency ms, count at or below).
    /// </summary>
    public IReadOnlyList<(double Percentile, double LatencyMs, long CountBelow)> Distribution()
    {
        var rows = new List<(double, double, long)>();
        if (Count == 0)
        {
            return rows;
        }

        foreach (var value in _histogram.Percentiles(5))
        {
            rows.Add((value.Percentile, _histogram.HighestEquivalentValue(value.ValueIteratedTo) / 1000.0, value.TotalCountToThisValue));
        }

        return rows;
    }
}
