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

    /// <summary>The whole response kept for a byte-identical request, or null.</summary>
    public CachedResponse? GetResponse(UInt128 requestKey) =>
        _cache.TryGetValue(new ResponseKey(requestKey), out CachedResponse? response) ? response : null;

    /// <summary>Keeps a whole response for <paramref name="timeToLive"/>, counted in the same size limit.</summary>
    public void SetResponse(UInt128 requestKey, CachedResponse response, TimeSpan timeToLive)
    {
        if (response.Body.Length > SizeLimit)
        {
            return;
        }

        _cache.Set(new ResponseKey(requestKey), response, new MemoryCacheEntryOptions
        {
            Size = Math.Max(1, response.Body.Length),
            AbsoluteExpirationRelativeToNow = timeToLive,
        });
    }

    public void Dispose() => _cache.Dispose();

    // Responses live beside predictions in the one cache, under keys of their own type.
    private readonly record struct ResponseKey(UInt128 Value);
}
