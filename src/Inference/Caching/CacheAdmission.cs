namespace ServingGateway.Inference.Caching;

/// <summary>When a computed prediction is stored in the cache.</summary>
internal enum CacheAdmission
{
    /// <summary>Every miss is stored.</summary>
    Always,

    /// <summary>A miss is stored only when its key was seen before (a rotating Bloom filter remembers keys).</summary>
    SecondHit,
}
