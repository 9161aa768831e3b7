namespace ServingGateway.Inference.Caching;

/// <summary>One tier of the prediction cache: in process (L1) or Redis (L2).</summary>
internal interface IPredictionCacheTier
{
    /// <summary>The tier's name in metrics and logs: "memory" or "redis".</summary>
    string Name { get; }

    /// <summary>The stored prediction, or null on a miss (a tier that cannot answer in time answers null).</summary>
    ValueTask<CachedPrediction?> GetAsync(UInt128 key, CancellationToken cancellationToken);

    /// <summary>Stores a prediction for <paramref name="timeToLive"/>; never delays the caller.</summary>
    void Set(UInt128 key, CachedPrediction prediction, TimeSpan timeToLive);
}
