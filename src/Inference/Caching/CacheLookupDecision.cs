namespace ServingGateway.Inference.Caching;

/// <summary>A change of state of a <see cref="CacheLookupGate"/>, with the figures it was decided on.</summary>
/// <param name="Paused">True when the cache was paused, false when it was turned back on.</param>
/// <param name="HitRatio">The window's hit ratio (both caches) among the requests that looked up.</param>
/// <param name="SavingNanoseconds">The expected saving of a lookup: hit ratios times what a hit saved.</param>
/// <param name="CostNanoseconds">What a lookup costs: hashing, lookups and second-sighting checks.</param>
internal sealed record CacheLookupDecision(bool Paused, double HitRatio, double SavingNanoseconds, double CostNanoseconds);
