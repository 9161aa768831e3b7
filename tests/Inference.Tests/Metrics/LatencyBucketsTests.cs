using ServingGateway.Inference.Metrics;

namespace ServingGateway.Inference.Tests.Metrics;

public sealed class LatencyBucketsTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(50_000, 0)]
    [InlineData(50_001, 1)]
    [InlineData(70_710, 1)] // 50 µs × √2 = 70 710.7 ns
    [InlineData(70_711, 2)]
    [InlineData(100_000, 2)]
    [InlineData(100_001, 3)]
    [InlineData(1e15, LatencyBuckets.Count - 1)]
    public void IndexOf_Durations_BucketOfRootTwoBounds(double nanoseconds, int expected)
    {
        Assert.Equal(expected, LatencyBuckets.IndexOf(nanoseconds));
    }

    [Fact]
    public void QuantileMs_NothingCounted_Null()
    {
        Assert.Null(LatencyBuckets.QuantileMs(new long[LatencyBuckets.Count], 0.5));
    }

    [Fact]
    public void QuantileMs_WrongLength_Throws()
    {
        Assert.Throws<ArgumentException>(() => LatencyBuckets.QuantileMs(new long[3], 0.5));
    }

    [Fact]
    public void QuantileMs_OneBucket_InterpolatesWithinItsBounds()
    {
        var counts = new long[LatencyBuckets.Count];
        counts[2] = 100; // (0.0707, 0.1] ms

        var median = LatencyBuckets.QuantileMs(counts, 0.5);

        var lower = LatencyBuckets.UpperBoundMs(1);
        Assert.Equal(lower + ((0.1 - lower) / 2), median!.Value, 9);
        Assert.Equal(0.1, LatencyBuckets.QuantileMs(counts, 1)!.Value, 9);
    }

    [Fact]
    public void QuantileMs_RecordedDurations_WithinABucketOfTheTruth()
    {
        // 98 requests of 1 ms and 2 of 100 ms: p50 is 1 ms, p99 100 ms, each within a factor √2 (one bucket).
        var statistics = new ModelStatistics(1);
        for (var i = 0; i < 98; i++)
        {
            statistics.RecordLatency(1_000_000);
        }

        statistics.RecordLatency(100_000_000);
        statistics.RecordLatency(100_000_000);

        var counts = statistics.CopyLatency();
        var p50 = LatencyBuckets.QuantileMs(counts, 0.5)!.Value;
        var p99 = LatencyBuckets.QuantileMs(counts, 0.99)!.Value;

        Assert.Equal(100, counts.Sum());
        Assert.InRange(p50, 1 / Math.Sqrt(2), 1);
        Assert.InRange(p99, 100 / Math.Sqrt(2), 100 * Math.Sqrt(2));
    }
}
