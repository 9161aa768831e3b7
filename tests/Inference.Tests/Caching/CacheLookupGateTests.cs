using Microsoft.Extensions.Time.Testing;
using ServingGateway.Inference.Caching;

namespace ServingGateway.Inference.Tests.Caching;

/// <summary>
/// Pausing a cache that does not pay: with every input distinct the cache pauses after one window and only the
/// sample looks up; when repeats appear the sample's hits turn it back on within a window; with 90% repeats it never pauses.
/// </summary>
public sealed class CacheLookupGateTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);
    private readonly FakeTimeProvider _time = new();
    private readonly CacheCostMeter _responses = new();
    private readonly CacheCostMeter _predictions = new();
    private readonly CacheLookupGate _gate;
    private readonly CacheBypassSettings _settings;

    public CacheLookupGateTests()
    {
        _gate = new CacheLookupGate(_responses, _predictions);
        _settings = CacheBypassSettings.From(new CacheOptions { PausedSampleEvery = 16, PauseWindowSeconds = Window.TotalSeconds }, _time);
    }

    // mlp's figures: a computed response (parse, queue, run, encode) takes 400 us, a prediction 300 us; a lookup
    // of either cache 2 us and its second-sighting check 1 us.
    private void Measure()
    {
        for (var i = 0; i < CacheCostMeter.WarmUpSamples; i++)
        {
            _responses.RecordSaved(400_000);
            _responses.RecordLookup(2_000);
            _responses.RecordSighting(1_000);
            _predictions.RecordSaved(300_000);
            _predictions.RecordLookup(2_000);
            _predictions.RecordSighting(1_000);
        }
    }

    // Offers `requests` requests spread evenly over `duration`; of those that look up, `hitPercent` are response hits.
    // Returns how many looked up, and every decision that changed the state.
    private (int LookedUp, List<CacheLookupDecision> Decisions) Offer(int requests, TimeSpan duration, int hitPercent = 0)
    {
        var lookedUp = 0;
        var decisions = new List<CacheLookupDecision>();
        var step = duration / requests;
        for (var i = 0; i < requests; i++)
        {
            _time.Advance(step);
            if (!_gate.ShouldLookUp(_settings))
            {
                continue;
            }

            lookedUp++;
            var hit = lookedUp % 100 < hitPercent;
            if (_gate.Record(responseHit: hit, predictionHit: false, _time.GetTimestamp(), _settings) is { } decision)
            {
                decisions.Add(decision);
            }
        }

        return (lookedUp, decisions);
    }

    [Fact]
    public void ShouldLookUp_DistinctInputs_PausedAfterOneWindowAndOnlyTheSampleLooksUp()
    {
        Measure();

        var first = Offer(2000, Window + Window / 10);

        var decision = Assert.Single(first.Decisions);
        Assert.True(decision.Paused);
        Assert.Equal(0, decision.HitRatio);
        Assert.Equal(0, decision.SavingNanoseconds);
        Assert.Equal(6_000, decision.CostNanoseconds, 1); // both lookups and both sightings
        Assert.True(_gate.Paused);
        var paused = Offer(16_000, Window * 5);
        Assert.Equal(1000, paused.LookedUp); // one in 16
        Assert.Empty(paused.Decisions);
        Assert.True(_gate.Paused);
    }

    [Fact]
    public void Record_RepeatsAppearWhilePaused_ResumedWithinOneWindow()
    {
        Measure();
        Offer(2000, Window + Window / 10);
        Assert.True(_gate.Paused);

        // The workload turns 90% repetitive: the sample (1 in 16 of 2000 requests a second) hits.
        var resumed = Offer(2000, Window + Window / 10, hitPercent: 90);

        var decision = Assert.Single(resumed.Decisions);
        Assert.False(decision.Paused);
        Assert.True(decision.HitRatio > 0.5, $"hit ratio {decision.HitRatio}");
        Assert.True(decision.SavingNanoseconds > decision.CostNanoseconds);
        Assert.False(_gate.Paused);
        Assert.Equal(1000, Offer(1000, Window / 2, hitPercent: 90).LookedUp); // every request looks up again
    }

    [Fact]
    public void Record_NinetyPercentRepeats_NeverPauses()
    {
        Measure();

        var run = Offer(20_000, Window * 10, hitPercent: 90);

        Assert.Empty(run.Decisions);
        Assert.Equal(20_000, run.LookedUp);
        Assert.False(_gate.Paused);
    }

    [Fact]
    public void Record_RareHitsThatSaveMoreThanTheLookups_StaysOn()
    {
        Measure();

        // 2% hits save 0.02 x 400 us = 8 us a lookup, more than the 6 us a lookup costs.
        var run = Offer(10_000, Window * 5, hitPercent: 2);

        Assert.Empty(run.Decisions);
        Assert.False(_gate.Paused);
    }

    [Fact]
    public void Record_CostsNotYetMeasured_NeverPauses()
    {
        var run = Offer(10_000, Window * 5);

        Assert.Empty(run.Decisions);
        Assert.Equal(10_000, run.LookedUp);
    }

    [Fact]
    public void Record_FewerLookupsThanAWindowNeeds_WaitsForThem()
    {
        Measure();

        var slow = Offer(CacheLookupGate.DecisionSamples - 1, Window * 3);
        Assert.Empty(slow.Decisions);
        Assert.False(_gate.Paused);

        var next = Offer(1, Window / 10);
        Assert.True(Assert.Single(next.Decisions).Paused);
    }

    [Fact]
    public void Record_PauseUnprofitableOff_NeverPauses()
    {
        var settings = CacheBypassSettings.From(new CacheOptions { PauseUnprofitable = false }, _time);
        Measure();

        for (var i = 0; i < 10_000; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1));
            Assert.True(_gate.ShouldLookUp(settings));
            Assert.Null(_gate.Record(responseHit: false, predictionHit: false, _time.GetTimestamp(), settings));
        }

        Assert.False(_gate.Paused);
    }
}
