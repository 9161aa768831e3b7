using Microsoft.Extensions.Time.Testing;
using ServingGateway.RateLimiting;

namespace ServingGateway.Gateway.Tests.RateLimiting;

/// <summary>Local token buckets under a fake clock: refill, sweep and the bucket lifetime, all exact.</summary>
public sealed class LocalTokenBucketsTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly LocalTokenBuckets _buckets;

    public LocalTokenBucketsTests()
    {
        _buckets = new LocalTokenBuckets(_time);
    }

    private RateLimitDecision Take(string bucket, double rate, int burst)
    {
        var decision = _buckets.TakeAsync(bucket, new RateLimitRule { Rate = rate, Burst = burst }, CancellationToken.None);
        Assert.True(decision.IsCompletedSuccessfully, "local buckets answer synchronously");
        return decision.Result;
    }

    [Fact]
    public void Take_BurstThenRefused_WithRemainingAndRetryAfter()
    {
        var decisions = Enumerable.Range(0, 4).Select(_ => Take("k", 0.5, 3)).ToList();

        Assert.Equal([true, true, true, false], decisions.Select(d => d.Allowed));
        Assert.Equal([2, 1, 0, 0], decisions.Select(d => d.Remaining));
        Assert.All(decisions, d => Assert.Equal(3, d.Limit));

        // One token every 2 s: a refused request waits 2 s, and Retry-After never says less.
        Assert.Equal(TimeSpan.FromSeconds(2), decisions[3].RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(6), decisions[3].Reset);
    }

    [Fact]
    public void Take_SeparateBuckets_DoNotShareTokens()
    {
        Take("a", 1, 1);

        Assert.False(Take("a", 1, 1).Allowed);
        Assert.True(Take("b", 1, 1).Allowed);
    }

    [Fact]
    public void Take_RuleChanged_BucketStartsAnewUnderIt()
    {
        Take("a", 1, 1);
        Assert.False(Take("a", 1, 1).Allowed);

        var decision = Take("a", 1, 5);

        Assert.True(decision.Allowed);
        Assert.Equal(5, decision.Limit);
        Assert.Equal(4, decision.Remaining);
        Assert.Equal(1, _buckets.Count);
    }

    [Fact]
    public void Take_TimeAdvances_RefillsAtTheRateUpToTheBurst()
    {
        for (var i = 0; i < 4; i++)
        {
            Assert.True(Take("k", 2, 4).Allowed);
        }

        var refused = Take("k", 2, 4);
        _time.Advance(TimeSpan.FromMilliseconds(499));
        var early = Take("k", 2, 4);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var onTime = Take("k", 2, 4);
        _time.Advance(TimeSpan.FromSeconds(60));
        var afterIdle = Take("k", 2, 4);

        Assert.False(refused.Allowed);
        Assert.Equal(TimeSpan.FromMilliseconds(500), refused.RetryAfter);
        Assert.False(early.Allowed);
        Assert.Equal(TimeSpan.FromMilliseconds(2), early.RetryAfter);
        Assert.True(onTime.Allowed);
        Assert.Equal(0, onTime.Remaining);
        Assert.True(afterIdle.Allowed);
        Assert.Equal(3, afterIdle.Remaining); // never more than the burst
    }

    [Fact]
    public void Take_HighRate_RetryAfterIsTheWaitForOneToken()
    {
        for (var i = 0; i < 10; i++)
        {
            Take("fast", 1000, 10);
        }

        var refused = Take("fast", 1000, 10);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var retried = Take("fast", 1000, 10);

        Assert.False(refused.Allowed);
        Assert.Equal(TimeSpan.FromMilliseconds(1), refused.RetryAfter);
        Assert.True(retried.Allowed);
    }

    [Fact]
    public void Sweep_DropsFullBucketsOnly()
    {
        Take("drained", 1, 2);
        Take("drained", 1, 2);
        _time.Advance(TimeSpan.FromSeconds(10));
        Take("quiet", 1, 2);
        _time.Advance(TimeSpan.FromSeconds(1)); // "quiet" is full again, "drained" too after 10 s

        Take("busy", 1, 1);
        _buckets.Sweep();

        Assert.Equal(1, _buckets.Count);
        Assert.False(Take("busy", 1, 1).Allowed); // the drained bucket kept its state
    }

    [Fact]
    public void Take_EveryFewThousandCalls_SweepsIdleCallers()
    {
        for (var i = 0; i < 4095; i++)
        {
            Take($"caller-{i}", 1, 5);
        }

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(4095, _buckets.Count);

        Take("one-more", 1, 5);

        Assert.Equal(1, _buckets.Count);
    }

    [Fact]
    public void Take_BucketSweptBetweenLookupAndTake_CountsInTheBucketThatStays()
    {
        // The bucket is new, hence full: the sweep drops it after the request found it and before it takes.
        _buckets.BeforeTake = () =>
        {
            _buckets.BeforeTake = null;
            _buckets.Sweep();
        };

        var first = Take("k", 1, 2);
        var second = Take("k", 1, 2);
        var third = Take("k", 1, 2);

        Assert.True(first.Allowed);
        Assert.Equal(1, first.Remaining);
        Assert.Equal(0, second.Remaining);
        Assert.False(third.Allowed);
        Assert.Equal(1, _buckets.Count);
    }

    [Fact]
    public void Take_RuleReloadedBetweenLookupAndTake_AnswersUnderItsOwnRule()
    {
        Take("k", 1, 2);
        RateLimitDecision reloaded = default;
        _buckets.BeforeTake = () =>
        {
            _buckets.BeforeTake = null;
            reloaded = Take("k", 1, 5);
        };

        var inFlight = Take("k", 1, 2);

        Assert.True(reloaded.Allowed);
        Assert.Equal(5, reloaded.Limit);
        Assert.True(inFlight.Allowed);
        Assert.Equal(2, inFlight.Limit);
        Assert.Equal(1, _buckets.Count);
    }
}
