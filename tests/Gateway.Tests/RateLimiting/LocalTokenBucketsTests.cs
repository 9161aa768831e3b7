using ServingGateway.RateLimiting;

namespace ServingGateway.Gateway.Tests.RateLimiting;

public sealed class LocalTokenBucketsTests : IDisposable
{
    private readonly LocalTokenBuckets _buckets = new();

    public void Dispose() => _buckets.Dispose();

    private RateLimitDecision Take(string bucket, double rate, int burst) =>
        _buckets.TakeAsync(bucket, new RateLimitRule { Rate = rate, Burst = burst }, CancellationToken.None).AsTask().Result;

    [Fact]
    public void Take_BurstThenRefused_WithRemainingAndRetryAfter()
    {
        var decisions = Enumerable.Range(0, 4).Select(_ => Take("k", 0.5, 3)).ToList();

        Assert.Equal([true, true, true, false], decisions.Select(d => d.Allowed));
        Assert.Equal([2, 1, 0, 0], decisions.Select(d => d.Remaining));
        Assert.All(decisions, d => Assert.Equal(3, d.Limit));

        // One token every 2 s: a refused request waits up to 2 s, and Retry-After never says less.
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
    }

    [Fact]
    public void Take_HighRate_RefillsInTenMillisecondSteps()
    {
        for (var i = 0; i < 10; i++)
        {
            Take("fast", 1000, 10);
        }

        var refused = Take("fast", 1000, 10);

        Assert.False(refused.Allowed);
        Assert.Equal(TimeSpan.FromMilliseconds(10), refused.RetryAfter);
    }
}
