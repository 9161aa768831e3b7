using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Caching;

/// <summary>
/// Caching: the prediction cache's stores, keys and its admission rule: the in-process tier (predictions and whole
/// responses), then Redis when configured. It never runs a model: the serving pipeline looks up, runs the
/// model on a miss, asks <see cref="Admit"/> and stores (docs/CACHING.md).
/// </summary>
/// <remarks>Ownership: owns its tiers and disposes them.</remarks>
internal sealed class PredictionCache : IDisposable
{
    private readonly NodeMetrics _metrics;

    public PredictionCache(IOptions<CacheOptions> options, NodeMetrics metrics, TimeProvider time, ILogger<PredictionCache> logger)
    {
        var settings = options.Value;
        _metrics = metrics;
        Memory = new MemoryCacheTier(settings.MemoryMb * 1024L * 1024L, settings.MaxEntries, time);
        Redis = string.IsNullOrWhiteSpace(settings.Redis) ? null : new RedisCacheTier(settings, time, logger, metrics);
        SeenKeys = new RotatingBloomFilter(settings.SecondHitExpectedKeys, settings.SecondHitFalsePositiveRate);
    }

    /// <summary>L1.</summary>
    public MemoryCacheTier Memory { get; }

    /// <summary>L2, when Cache:Redis is set.</summary>
    public RedisCacheTier? Redis { get; }

    /// <summary>The keys seen, for second-hit admission.</summary>
    public RotatingBloomFilter SeenKeys { get; }

    /// <summary>The whole response for a byte-identical earlier request, or null.</summary>
    public CachedResponse? GetResponse(UInt128 exactKey) => Memory.GetResponse(exactKey);

    /// <summary>Keeps the whole response of a request that <see cref="Admit"/> admitted.</summary>
    public void SetResponse(UInt128 exactKey, CachedResponse response, TimeSpan timeToLive) =>
        Memory.SetResponse(exactKey, response, timeToLive);

    /// <summary>
    /// The prediction stored under <paramref name="key"/>, from memory, else from Redis (kept in memory then),
    /// and where it came from; <see cref="CacheOutcome.Miss"/> with null when neither tier has it. A Redis entry
    /// that does not fit <paramref name="request"/> is refused as a miss.
    /// </summary>
    public async ValueTask<(CachedPrediction? Prediction, CacheOutcome Outcome)> GetAsync(
        UInt128 key, InferRequest request, ModelSignature signature, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        var local = await Memory.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (local is not null)
        {
            return (local, CacheOutcome.HitMemory);
        }

        if (Redis is not null)
        {
            var shared = await Redis.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (shared is not null && !shared.Fits(request, signature))
            {
                // Store integrity, as the Redis tier counts its own refusals (a bad seal, a bad entry).
                _metrics.RecordCacheRejected(NodeMetrics.RejectedMismatch);
                shared = null;
            }

            if (shared is not null)
            {
                Memory.Set(key, shared, timeToLive);
                return (shared, CacheOutcome.HitRedis);
            }
        }

        return (null, CacheOutcome.Miss);
    }

    /// <summary>Stores a prediction that <see cref="Admit"/> admitted, in every tier.</summary>
    public void Set(UInt128 key, CachedPrediction prediction, TimeSpan timeToLive)
    {
        Memory.Set(key, prediction, timeToLive);
        Redis?.Set(key, prediction, timeToLive);
    }

    /// <summary>
    /// The one admission decision, for predictions and whole responses alike: whether a miss under
    /// <paramref name="key"/> is stored, by <paramref name="admission"/> and the model's measured <paramref name="costs"/>.
    /// </summary>
    public bool Admit(CacheAdmission admission, CacheCostMeter costs, UInt128 key) => admission switch
    {
        CacheAdmission.Always => true,
        CacheAdmission.SecondHit => SeenKeys.CheckAndAdd(key),
        _ => SeenKeys.CheckAndAdd(key) && costs.Pays(),
    };

    /// <inheritdoc />
    public void Dispose()
    {
        Memory.Dispose();
        Redis?.Dispose();
    }
}
