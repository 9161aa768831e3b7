namespace ServingGateway.Inference.Caching;

/// <summary>Where a prediction came from; the X-Cache response header.</summary>
internal enum CacheOutcome
{
    /// <summary>The model's cache is off: "bypass".</summary>
    Bypass,

    /// <summary>
    /// The model's cache is on but paused, its lookups not paying (<see cref="CacheLookupGate"/>): computed without
    /// looking: "paused".
    /// </summary>
    Paused,

    /// <summary>Computed (or shared with an identical request in flight): "miss".</summary>
    Miss,

    /// <summary>From the in-process tier: "hit-memory".</summary>
    HitMemory,

    /// <summary>From Redis: "hit-redis".</summary>
    HitRedis,
}
