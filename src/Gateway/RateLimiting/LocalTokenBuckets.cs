using System.Collections.Concurrent;

namespace ServingGateway.RateLimiting;

/// <summary>
/// Token buckets in this process, refilled lazily from the <see cref="TimeProvider"/> when a request takes a
/// token (the same rule as the Redis buckets: <c>rate</c> tokens a second, continuously, up to <c>burst</c>),
/// so no timer runs per bucket and tests drive time with a fake clock. Full idle buckets are dropped now and
/// then, so many callers cost no memory once they go quiet.
/// </summary>
/// <remarks>
/// A bucket is only ever retired (by a sweep, or when its rule changes on reload) under its own lock, and a
/// request that finds the bucket it looked up retired looks it up again: a bucket dropped while in use never
/// throws and never loses or grants a token it should not.
/// </remarks>
internal sealed class LocalTokenBuckets : ITokenBucketStore
{
    private const int SweepEvery = 4096;
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private int _calls;

    public LocalTokenBuckets(TimeProvider time)
    {
        _time = time;
    }

    /// <summary>Buckets held now.</summary>
    public int Count => _buckets.Count;

    /// <summary>Test seam: runs after a request has looked its bucket up and before it takes from it.</summary>
    internal Action? BeforeTake { get; set; }

    public ValueTask<RateLimitDecision> TakeAsync(string bucket, RateLimitRule rule, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _calls) % SweepEvery == 0)
        {
            Sweep();
        }

        while (true)
        {
            var now = _time.GetTimestamp();
            var entry = _buckets.GetOrAdd(bucket, static (_, state) => new Bucket(state.rule, state.now), (rule, now));
            if (entry.Rate != rule.Rate || entry.Burst != rule.Burst)
            {
                // The configuration changed: start this bucket anew under the new rule.
                Retire(bucket, entry, static _ => true);
                continue;
            }

            BeforeTake?.Invoke();
            if (entry.TryTake(_time.GetTimestamp(), _time.TimestampFrequency, out var decision))
            {
                return ValueTask.FromResult(decision);
            }
        }
    }

    /// <summary>Drops every bucket that is full again (its caller went quiet).</summary>
    internal void Sweep()
    {
        var now = _time.GetTimestamp();
        foreach (var (key, bucket) in _buckets)
        {
            Retire(key, bucket, b => b.IsFull(now, _time.TimestampFrequency));
        }
    }

    private void Retire(string key, Bucket bucket, Func<Bucket, bool> when)
    {
        lock (bucket.Gate)
        {
            if (!bucket.Retired && when(bucket))
            {
                bucket.Retired = true;
                _buckets.TryRemove(new KeyValuePair<string, Bucket>(key, bucket));
            }
        }
    }

    private sealed class Bucket(RateLimitRule rule, long now)
    {
        private double _tokens = rule.Burst;
        private long _at = now;

        public Lock Gate { get; } = new();

        public double Rate { get; } = rule.Rate;

        public int Burst { get; } = rule.Burst;

        /// <summary>Set under the bucket's lock once it has left the dictionary; takers then look again.</summary>
        public bool Retired { get; set; }

        public bool IsFull(long now, long frequency) => Refilled(now, frequency) >= Burst;

        public bool TryTake(long now, long frequency, out RateLimitDecision decision)
        {
            lock (Gate)
            {
                if (Retired)
                {
                    decision = default;
                    return false;
                }

                _tokens = Refilled(now, frequency);
                _at = Math.Max(_at, now);
                var allowed = _tokens >= 1;
                if (allowed)
                {
                    _tokens -= 1;
                }

                // A refused request may retry once a whole token is there, and is never told less than 1 ms.
                var wait = TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling((1 - _tokens) * 1000 / Rate)));
                decision = new RateLimitDecision(allowed, Burst, (int)Math.Floor(_tokens), wait, TimeSpan.FromSeconds((Burst - _tokens) / Rate));
                return true;
            }
        }

        private double Refilled(long now, long frequency) =>
            Math.Min(Burst, _tokens + (Math.Max(0, now - _at) * Rate / frequency));
    }
}
