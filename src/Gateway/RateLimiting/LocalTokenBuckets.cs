using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace ServingGateway.RateLimiting;

/// <summary>
/// Token buckets in this process, one System.Threading.RateLimiting TokenBucketRateLimiter per bucket,
/// replenished in whole tokens every 1/rate seconds (at least every 10 ms, more tokens at a time above 100/s).
/// Full idle buckets are dropped now and then, so many callers cost no memory once they go quiet.
/// </summary>
/// <remarks>Ownership: disposes its limiters.</remarks>
internal sealed class LocalTokenBuckets : ITokenBucketStore, IDisposable
{
    private static readonly TimeSpan MinPeriod = TimeSpan.FromMilliseconds(10);
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private int _calls;

    /// <summary>Buckets held now.</summary>
    public int Count => _buckets.Count;

    public ValueTask<RateLimitDecision> TakeAsync(string bucket, RateLimitRule rule, CancellationToken cancellationToken)
    {
        var entry = _buckets.GetOrAdd(bucket, static (_, r) => new Bucket(r), rule);
        if (entry.Rate != rule.Rate || entry.Burst != rule.Burst)
        {
            // The configuration changed: start this bucket anew under the new rule.
            var fresh = new Bucket(rule);
            _buckets[bucket] = fresh;
            entry.Limiter.Dispose();
            entry = fresh;
        }

        using var lease = entry.Limiter.AttemptAcquire(1);
        var remaining = (int)Math.Min(int.MaxValue, entry.Limiter.GetStatistics()?.CurrentAvailablePermits ?? 0);
        var reset = TimeSpan.FromSeconds((rule.Burst - remaining) / rule.Rate);
        if (Interlocked.Increment(ref _calls) % 4096 == 0)
        {
            Sweep();
        }

        // A token comes at the next replenishment, at most one period away: never sooner than that.
        return ValueTask.FromResult(new RateLimitDecision(lease.IsAcquired, rule.Burst, remaining, entry.Period, reset));
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets.Values)
        {
            bucket.Limiter.Dispose();
        }
    }

    private void Sweep()
    {
        foreach (var (key, bucket) in _buckets)
        {
            if (bucket.Limiter.GetStatistics()?.CurrentAvailablePermits >= bucket.Burst && _buckets.TryRemove(new KeyValuePair<string, Bucket>(key, bucket)))
            {
                bucket.Limiter.Dispose();
            }
        }
    }

    private sealed class Bucket
    {
        public Bucket(RateLimitRule rule)
        {
            Rate = rule.Rate;
            Burst = rule.Burst;
            var period = TimeSpan.FromSeconds(1 / rule.Rate);
            var tokens = 1;
            if (period < MinPeriod)
            {
                period = MinPeriod;
                tokens = (int)Math.Ceiling(rule.Rate * MinPeriod.TotalSeconds);
            }

            Period = period;
            Limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = rule.Burst,
                TokensPerPeriod = tokens,
                ReplenishmentPeriod = period,
                AutoReplenishment = true,
                QueueLimit = 0,
            });
        }

        public double Rate { get; }

        public int Burst { get; }

        public TimeSpan Period { get; }

        public TokenBucketRateLimiter Limiter { get; }
    }
}
