using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Inference;
using ServingGateway.Inference.Metrics;
using ServingGateway.Observability;
using ServingGateway.TestSupport;

namespace ServingGateway.Gateway.Tests.Observability;

public sealed class StatusHistoryTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 21, 0, 0, TimeSpan.Zero));
    private readonly List<VersionReading> _readings = [];
    private readonly StatusHistory _history;

    public StatusHistoryTests()
    {
        _history = new StatusHistory(() => [.. _readings], _time);
    }

    internal static VersionReading Ready(string model, long successes, long failures = 0, long hits = 0, long misses = 0, int queued = 0, double? psi = null, long[]? latency = null) =>
        new(model, "1", "READY", "", true, successes, failures, hits, misses, queued, psi, psi is null ? null : 0.2, latency ?? new long[LatencyBuckets.Count]);

    private static long[] Latency(params (double Ms, long Count)[] durations)
    {
        var counts = new long[LatencyBuckets.Count];
        foreach (var (ms, count) in durations)
        {
            counts[LatencyBuckets.IndexOf(ms * 1_000_000)] += count;
        }

        return counts;
    }

    private void SampleAfter(TimeSpan elapsed, params VersionReading[] readings)
    {
        _time.Advance(elapsed);
        _readings.Clear();
        _readings.AddRange(readings);
        _history.Sample();
    }

    [Fact]
    public void Sample_FirstReading_IsTheBaselineWithoutAPoint()
    {
        SampleAfter(TimeSpan.Zero, Ready("mlp", 500));

        var series = Assert.Single(_history.Snapshot());
        Assert.Equal("mlp", series.Latest.Model);
        Assert.Equal(500, series.Latest.Successes);
        Assert.Empty(series.Samples);
    }

    [Fact]
    public void Sample_TwoReadings_RateQuantilesAndHitRatioOfTheDifference()
    {
        SampleAfter(TimeSpan.Zero, Ready("mlp", 100, failures: 5, hits: 10, misses: 10, latency: Latency((50, 100))));
        SampleAfter(TimeSpan.FromSeconds(5), Ready("mlp", 140, failures: 15, hits: 40, misses: 20, queued: 7, psi: 0.05, latency: Latency((50, 100), (2, 39), (200, 1))));

        var sample = Assert.Single(Assert.Single(_history.Snapshot()).Samples);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds(), sample.UnixMs);
        Assert.Equal(10, sample.Rps, 9); // (40 answered + 10 failed) / 5 s
        Assert.InRange(sample.P50Ms!.Value, 2 / Math.Sqrt(2), 2 * Math.Sqrt(2)); // the 100 earlier 50 ms answers are not in this period
        Assert.InRange(sample.P99Ms!.Value, 2 / Math.Sqrt(2), 200 * Math.Sqrt(2));
        Assert.Equal(0.75, sample.CacheHitRatio!.Value, 9); // 30 hits of 40 lookups
        Assert.Equal(7, sample.QueuedRows);
        Assert.Equal(0.05, sample.DriftPsi);
    }

    [Fact]
    public void Sample_NothingHappened_ZeroRateAndNoQuantilesOrRatio()
    {
        SampleAfter(TimeSpan.Zero, Ready("mlp", 10, hits: 3, misses: 1, latency: Latency((1, 10))));
        SampleAfter(TimeSpan.FromSeconds(5), Ready("mlp", 10, hits: 3, misses: 1, latency: Latency((1, 10))));

        var sample = Assert.Single(Assert.Single(_history.Snapshot()).Samples);
        Assert.Equal(0, sample.Rps);
        Assert.Null(sample.P50Ms);
        Assert.Null(sample.P99Ms);
        Assert.Null(sample.CacheHitRatio);
    }

    [Fact]
    public void Sample_CountersDropped_VersionReloadedAndEverythingCountedIsNew()
    {
        SampleAfter(TimeSpan.Zero, Ready("mlp", 1000, latency: Latency((1, 1000))));
        SampleAfter(TimeSpan.FromSeconds(5), Ready("mlp", 20, latency: Latency((3, 20))));

        var sample = Assert.Single(Assert.Single(_history.Snapshot()).Samples);
        Assert.Equal(4, sample.Rps, 9);
        Assert.InRange(sample.P50Ms!.Value, 3 / Math.Sqrt(2), 3 * Math.Sqrt(2));
    }

    [Fact]
    public void Sample_PastLength_KeepsTheLastLengthSamples()
    {
        for (var i = 0; i <= StatusHistory.Length + 10; i++)
        {
            SampleAfter(StatusHistory.SamplePeriod, Ready("mlp", 5L * i * i));
        }

        var samples = Assert.Single(_history.Snapshot()).Samples;
        Assert.Equal(StatusHistory.Length, samples.Length);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds(), samples[^1].UnixMs);
        Assert.Equal((long)StatusHistory.SamplePeriod.TotalMilliseconds * (StatusHistory.Length - 1), samples[^1].UnixMs - samples[0].UnixMs);
        Assert.Equal(2 * (StatusHistory.Length + 10) - 1, samples[^1].Rps, 9); // 5 (i² - (i-1)²) / 5 s
    }

    [Fact]
    public void Sample_VersionLeftTheIndex_Forgotten()
    {
        SampleAfter(TimeSpan.Zero, Ready("mlp", 1), Ready("wide", 1));
        SampleAfter(TimeSpan.FromSeconds(5), Ready("mlp", 2), Ready("wide", 2));
        SampleAfter(TimeSpan.FromSeconds(5), Ready("wide", 3));

        var series = Assert.Single(_history.Snapshot());
        Assert.Equal("wide", series.Latest.Model);
        Assert.Equal(2, series.Samples.Length);
    }

    [Fact]
    public void Sample_NotResident_NoPointAndANewBaselineWhenItIsAgain()
    {
        var evicted = new VersionReading("mlp", "1", "READY", "", false, 0, 0, 0, 0, 0, null, null, []);
        SampleAfter(TimeSpan.Zero, Ready("mlp", 100));
        SampleAfter(TimeSpan.FromSeconds(5), evicted);
        SampleAfter(TimeSpan.FromSeconds(5), Ready("mlp", 30));
        SampleAfter(TimeSpan.FromSeconds(5), Ready("mlp", 40));

        // Resident again since the last sample: its counters started at zero then, so its 30 are that period's; then 10.
        var series = Assert.Single(_history.Snapshot());
        Assert.Equal([6.0, 2.0], series.Samples.Select(s => s.Rps));
    }

    [Fact]
    public void Sample_VersionLoadedAfterTheHistoryBegan_ItsFirstCountsAreThatPeriodsRate()
    {
        SampleAfter(TimeSpan.Zero, Ready("wide", 7));
        SampleAfter(TimeSpan.FromSeconds(5), Ready("wide", 7), Ready("mlp", 60, latency: Latency((2, 60))));

        var mlp = _history.Snapshot().Single(s => s.Latest.Model == "mlp");
        var sample = Assert.Single(mlp.Samples);
        Assert.Equal(12, sample.Rps, 9); // 60 requests since it loaded, within the 5 s since the last sample
        Assert.NotNull(sample.P50Ms);
    }

    [Fact]
    public void Snapshot_KeepsTheIndexOrder()
    {
        SampleAfter(TimeSpan.Zero, Ready("b", 0), Ready("a", 0), Ready("c", 0));

        Assert.Equal(["b", "a", "c"], _history.Snapshot().Select(s => s.Latest.Model));
    }

    [Fact]
    public void Current_ReadsNowWithTheSampledCharts()
    {
        SampleAfter(TimeSpan.Zero, new VersionReading("mlp", "1", "LOADING", "", false, 0, 0, 0, 0, 0, null, null, []));
        _readings.Clear();
        _readings.AddRange([Ready("mlp", 60), Ready("wide", 3)]); // loaded and answered since, not sampled yet

        var current = _history.Current();

        Assert.Equal(["mlp", "wide"], current.Select(s => s.Latest.Model));
        Assert.Equal("READY", current[0].Latest.State);
        Assert.Equal(60, current[0].Latest.Successes);
        Assert.All(current, s => Assert.Empty(s.Samples));
        Assert.Equal("LOADING", Assert.Single(_history.Snapshot()).Latest.State); // the sampled history is unchanged
    }

    [Fact]
    public async Task Sampler_FakeClock_SamplesAtStartAndEveryPeriod()
    {
        var reads = 0;
        var history = new StatusHistory(() => { Interlocked.Increment(ref reads); return [Ready("mlp", 10L * Volatile.Read(ref reads))]; }, _time);
        using var sampler = new StatusSampler(history, _time, NullLogger<StatusSampler>.Instance);

        await sampler.StartAsync(CancellationToken.None);
        await Poll.UntilAsync(() => Volatile.Read(ref reads) == 1, "the sample at start");
        _time.Advance(StatusHistory.SamplePeriod - TimeSpan.FromMilliseconds(1));
        var early = Volatile.Read(ref reads);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await Poll.UntilAsync(() => Volatile.Read(ref reads) == 2, "the sample one period later");
        _time.Advance(StatusHistory.SamplePeriod);
        await Poll.UntilAsync(() => history.Snapshot() is [{ Samples.Length: 2 }], "the sample two periods later");
        await sampler.StopAsync(CancellationToken.None);

        Assert.Equal(1, early);
        Assert.Equal(3, Volatile.Read(ref reads));
        Assert.Equal(2, history.Snapshot()[0].Samples[^1].Rps, 9); // 10 more requests in 5 s
    }

    [Fact]
    public async Task Sampler_ReadingThrows_LoopGoesOn()
    {
        var reads = 0;
        var history = new StatusHistory(() => Interlocked.Increment(ref reads) == 1 ? throw new InvalidOperationException("index busy") : [Ready("mlp", 1)], _time);
        using var sampler = new StatusSampler(history, _time, NullLogger<StatusSampler>.Instance);

        await sampler.StartAsync(CancellationToken.None);
        await Poll.UntilAsync(() => Volatile.Read(ref reads) == 1, "the failed sample at start");
        _time.Advance(StatusHistory.SamplePeriod);
        await Poll.UntilAsync(() => history.Snapshot().Count == 1, "the next sample");
        await sampler.StopAsync(CancellationToken.None);

        Assert.Equal(2, Volatile.Read(ref reads));
    }
}
