using Microsoft.Extensions.Time.Testing;
using ServingGateway.Inference.Caching;

namespace ServingGateway.Inference.Tests.Caching;

/// <summary>The cost test of admission "auto": store only while a hit saves more than the cache costs.</summary>
public sealed class CacheCostMeterTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly CacheCostMeter _meter = new();

    // The nanoseconds the fake clock measures across a span of work that takes `duration`.
    private double Measure(TimeSpan duration)
    {
        var started = _time.GetTimestamp();
        _time.Advance(duration);
        return (_time.GetTimestamp() - started) * (1e9 / _time.TimestampFrequency);
    }

    private void Feed(int samples, TimeSpan saved, TimeSpan lookup, TimeSpan store)
    {
        for (var i = 0; i < samples; i++)
        {
            _meter.RecordSaved(Measure(saved));
            _meter.RecordLookup(Measure(lookup));
            _meter.RecordStore(Measure(store));
        }
    }

    private int Admitted(int decisions) => Enumerable.Range(0, decisions).Count(_ => _meter.Pays());

    [Fact]
    public void Pays_NotYetMeasured_StoresSoTheStoreGetsMeasured()
    {
        Feed(CacheCostMeter.WarmUpSamples - 1, saved: TimeSpan.FromTicks(1), lookup: TimeSpan.FromMilliseconds(1), store: TimeSpan.FromMilliseconds(1));

        Assert.Equal(10, Admitted(10));
    }

    [Fact]
    public void Pays_ComputeDearerThanLookupAndStore_AlwaysStores()
    {
        Feed(CacheCostMeter.WarmUpSamples, saved: TimeSpan.FromMicroseconds(500), lookup: TimeSpan.FromMicroseconds(2), store: TimeSpan.FromMicroseconds(3));

        Assert.Equal(1000, Admitted(1000));
        Assert.Equal(500_000, _meter.SavedNanoseconds, 1);
        Assert.Equal(2_000, _meter.LookupNanoseconds, 1);
        Assert.Equal(3_000, _meter.StoreNanoseconds, 1);
    }

    [Fact]
    public void Pays_ComputeCheaperThanLookupAndStore_StoresOnlyOneInExploreEvery()
    {
        Feed(CacheCostMeter.WarmUpSamples, saved: TimeSpan.FromMicroseconds(4), lookup: TimeSpan.FromMicroseconds(2), store: TimeSpan.FromMicroseconds(3));

        Assert.Equal(10, Admitted(10 * CacheCostMeter.ExploreEvery));
    }

    [Fact]
    public void Pays_ComputeGetsDearerUnderLoad_StartsStoringAgain()
    {
        Feed(CacheCostMeter.WarmUpSamples, saved: TimeSpan.FromMicroseconds(1), lookup: TimeSpan.FromMicroseconds(2), store: TimeSpan.FromMicroseconds(3));
        Assert.False(_meter.Pays());

        for (var i = 0; i < 3 * CacheCostMeter.WarmUpSamples; i++)
        {
            _meter.RecordSaved(Measure(TimeSpan.FromMicroseconds(50)));
        }

        Assert.Equal(100, Admitted(100));
    }
}
