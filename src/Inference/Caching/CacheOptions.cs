using ServingGateway.Inference.Common;

namespace ServingGateway.Inference.Caching;

/// <summary>
/// The node's prediction cache, bound from the configuration section <c>Cache</c>. Which models are cached,
/// and for how long, is each model's config.json ("cache": {"enable", "ttl_seconds", "admission"}).
/// </summary>
public sealed class CacheOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Cache";

    /// <summary>
    /// In-process tier size limit, in MiB: the memory its entries take (key, value and the cache's measured
    /// per-entry overhead). Default 256; 1 to 1048576.
    /// </summary>
    public int MemoryMb { get; set; } = 256;

    /// <summary>In-process tier limit on the number of entries (predictions and whole responses). Default 1 000 000; 1 to 100 000 000.</summary>
    public int MaxEntries { get; set; } = 1_000_000;

    /// <summary>
    /// Redis for the shared tier, as StackExchange.Redis takes it ("127.0.0.1:6379", or with options);
    /// empty for none, which means the top-level key <c>Redis</c> (switch <c>--redis</c>), shared with the
    /// edge's rate limits.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>
    /// The secret every node shares to sign and key the Redis tier's entries (HMAC-SHA256), at least 16
    /// characters. Required when the Redis tier is on and Redis is not on loopback; on loopback it may be
    /// left out (entries are then checked against corruption, not forgery). Never logged.
    /// </summary>
    public string? RedisSecret { get; set; }

    /// <summary>How long a Redis lookup may take before it counts as a miss. Default 2 ms; 0.1 to 1000.</summary>
    public double RedisReadBudgetMs { get; set; } = 2;

    /// <summary>Consecutive Redis failures or budget overruns that open the circuit (L1 alone). Default 5; 1 to 1000.</summary>
    public int RedisFailuresToOpen { get; set; } = 5;

    /// <summary>How long the circuit stays open before one probe is let through. Default 2 s; 0.1 to 600.</summary>
    public double RedisOpenSeconds { get; set; } = 2;

    /// <summary>Second-hit admission: keys remembered per Bloom filter generation. Default 1 000 000; 1000 to 100 000 000.</summary>
    public int SecondHitExpectedKeys { get; set; } = 1_000_000;

    /// <summary>Second-hit admission: the Bloom filter's false-positive rate. Default 0.01; 0.0001 to 0.5.</summary>
    public double SecondHitFalsePositiveRate { get; set; } = 0.01;

    /// <summary>
    /// Whether a model version's cache pauses its lookups while they do not pay (docs/CACHING.md, "Pausing a cache
    /// that does not pay"): measured hit ratio times what a hit saves, against what a lookup costs. Default true.
    /// </summary>
    public bool PauseUnprofitable { get; set; } = true;

    /// <summary>While a cache is paused, one request in this many still looks up (and is sighted), so that repeats are noticed. Default 16; 2 to 1 000 000.</summary>
    public int PausedSampleEvery { get; set; } = 16;

    /// <summary>How often, in seconds, each cache weighs its hit ratio and costs to pause or resume (with at least 64 lookups in the window). Default 1; 0.05 to 3600.</summary>
    public double PauseWindowSeconds { get; set; } = 1;

    /// <summary>Lists every invalid setting.</summary>
    public IEnumerable<string> Validate()
    {
        if (MemoryMb is < 1 or > 1_048_576)
        {
            yield return $"Cache:MemoryMb must be from 1 to 1048576; it is {MemoryMb}.";
        }

        if (MaxEntries is < 1 or > 100_000_000)
        {
            yield return $"Cache:MaxEntries must be from 1 to 100000000; it is {MaxEntries}.";
        }

        if (!string.IsNullOrWhiteSpace(Redis))
        {
            var error = RedisConnections.Check(Redis, "Cache:Redis (--redis)", out var loopback);
            if (error is not null)
            {
                yield return error;
            }
            else if (string.IsNullOrEmpty(RedisSecret) && !loopback)
            {
                yield return "Cache:RedisSecret is required when the Redis cache tier is on and Redis is not on loopback: every node signs and keys its entries with it (at least 16 characters, the same on every node).";
            }
        }

        if (!string.IsNullOrEmpty(RedisSecret) && RedisSecret.Length < 16)
        {
            yield return $"Cache:RedisSecret must be at least 16 characters; it has {RedisSecret.Length}.";
        }

        if (RedisReadBudgetMs is < 0.1 or > 1000)
        {
            yield return $"Cache:RedisReadBudgetMs must be from 0.1 to 1000; it is {RedisReadBudgetMs}.";
        }

        if (RedisFailuresToOpen is < 1 or > 1000)
        {
            yield return $"Cache:RedisFailuresToOpen must be from 1 to 1000; it is {RedisFailuresToOpen}.";
        }

        if (RedisOpenSeconds is < 0.1 or > 600)
        {
            yield return $"Cache:RedisOpenSeconds must be from 0.1 to 600; it is {RedisOpenSeconds}.";
        }

        if (SecondHitExpectedKeys is < 1000 or > 100_000_000)
        {
            yield return $"Cache:SecondHitExpectedKeys must be from 1000 to 100000000; it is {SecondHitExpectedKeys}.";
        }

        if (PausedSampleEvery is < 2 or > 1_000_000)
        {
            yield return $"Cache:PausedSampleEvery must be from 2 to 1000000; it is {PausedSampleEvery}.";
        }

        if (PauseWindowSeconds is < 0.05 or > 3600 || double.IsNaN(PauseWindowSeconds))
        {
            yield return $"Cache:PauseWindowSeconds must be from 0.05 to 3600; it is {PauseWindowSeconds}.";
        }

        if (SecondHitFalsePositiveRate is < 0.0001 or > 0.5)
        {
            yield return $"Cache:SecondHitFalsePositiveRate must be from 0.0001 to 0.5; it is {SecondHitFalsePositiveRate}.";
        }
    }
}
