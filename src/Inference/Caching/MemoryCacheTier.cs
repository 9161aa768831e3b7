using Microsoft.Extensions.Caching.Memory;

namespace ServingGateway.Inference.Caching;

/// <summary>
/// L1: Microsoft.Extensions.Caching.Memory bounded by the bytes of stored outputs (Cache:MemoryMb); an
/// entry that would pass the limit is not stored and the least recently used entries are compacted away.
/// </summary>
/// <remarks>Ownership: the tier owns its MemoryCache and disposes it.</remarks>
internal sealed class MemoryCacheTier : IPredictionCacheTier, IDisposable
{
    private readonly MemoryCache _cache;

    public MemoryCacheTier(long sizeLimitBytes, TimeProvider time)
    {
        SizeLimit = sizeLimitBytes;
        _cache = new MemoryCache(new MemoryCacheOptions
        {
            SizeLimit = sizeLimitBytes,
            Clock = new TimeProviderClock(time),
            TrackStatistics = true,
        });
    }

    public string Name => "memory";

    /// <summary>The limit on stored bytes.</summary>
    public long SizeLimit { get; }

    /// <summary>The bytes stored now.</summary>
    public long Size => _cache.GetCurrentStatistics()?.CurrentEstimatedSize ?? 0;

    public ValueTask<CachedPrediction?> GetAsync(UInt128 key, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_cache.TryGetValue(key, out CachedPrediction? prediction) ? prediction : null);

    public void Set(UInt128 key, CachedPrediction prediction, TimeSpan timeToLive)
    {
        if (prediction.Size > SizeLimit)
        {
            return;
        }

        _cache.Set(key, prediction, new MemoryCacheEntryOptions
        {
            Size = Math.Max(1, prediction.Size),
            AbsoluteExpirationRelativeToNow = timeToLive,
        });
    }

    public void Dispose() => _cache.Dispose();
}
