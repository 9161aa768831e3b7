namespace ServingGateway.Inference.Caching;

/// <summary>When a computed prediction (or a whole response) is stored in the cache.</summary>
internal enum CacheAdmission
{
    /// <summary>
    /// The default: on the key's second sighting (a rotating Bloom filter remembers keys) and only while the
    /// model's measured computation per request costs more than the cache's own lookup and store
    /// (<see cref="CacheCostMeter"/>). One-off inputs, the normal case, are never stored.
    /// </summary>
    Auto,

    /// <summary>Every miss is stored.</summary>
    Always,

    /// <summary>A miss is stored only when its key was seen before, whatever it costs.</summary>
    SecondHit,
}
