using Microsoft.Extensions.Caching.Memory;

namespace ServingGateway.Inference.Caching;

/// <summary>
/// L1: Microsoft.Extensions.Caching.Memory bounded by the memory its entries really take (Cache:MemoryMb)
/// and by their number (Cache:MaxEntries). An entry's size is its value's managed footprint plus
/// <see cref="EntryOverhead"/>, the cache's own bytes per entry (key, entry object, index), measured once
/// per process. An entry that would pass either limit is not stored, and the least recently used entries
/// are compacted away.
/// </summary>
/// <remarks>Ownership: the tier owns its MemoryCache and disposes it.</remarks>
internal sealed class MemoryCacheTier : IPredictionCacheTier, IDisposable
{
    // Measured, not guessed: what MemoryCache allocates per stored entry in this runtime.
    private static readonly Lazy<long> MeasuredEntryOverhead = new(MeasureEntryOverhead);

    private readonly MemoryCache _cache;
    private int _compacting;

    /// <param name="sizeLimitBytes">The limit on the bytes of all entries, overhead included.</param>
    /// <param name="maxEntries">The limit on the number of entries (predictions and responses together).</param>
    /// <param name="time">The clock of expirations.</param>
    public MemoryCacheTier(long sizeLimitBytes, int maxEntries, TimeProvider time)
    {
        SizeLimit = sizeLimitBytes;
        MaxEntries = maxEntries;
        _cache = new MemoryCache(new MemoryCacheOptions
        {
            SizeLimit = sizeLimitBytes,
            Clock = new TimeProviderClock(time),
            TrackStatistics = true,
        });
    }

    public string Name => "memory";

    /// <summary>The limit on the bytes of all entries.</summary>
    public long SizeLimit { get; }

    /// <summary>The limit on the number of entries.</summary>
    public int MaxEntries { get; }

    /// <summary>The bytes of all entries now, overhead included.</summary>
    public long Size => _cache.GetCurrentStatistics()?.CurrentEstimatedSize ?? 0;

    /// <summary>The entries now.</summary>
    public int Count => _cache.Count;

    /// <summary>The cache's own bytes per entry beside the value's: allocations per stored entry, measured at first use.</summary>
    public static long EntryOverhead => MeasuredEntryOverhead.Value;

    public ValueTask<CachedPrediction?> GetAsync(UInt128 key, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_cache.TryGetValue(key, out CachedPrediction? prediction) ? prediction : null);

    public void Set(UInt128 key, CachedPrediction prediction, TimeSpan timeToLive) =>
        Store(key, prediction, prediction.Footprint, timeToLive);

    /// <summary>The whole response kept for a byte-identical request, or null.</summary>
    public CachedResponse? GetResponse(UInt128 requestKey) =>
        _cache.TryGetValue(new ResponseKey(requestKey), out CachedResponse? response) ? response : null;

    /// <summary>Keeps a whole response for <paramref name="timeToLive"/>, within the same limits.</summary>
    public void SetResponse(UInt128 requestKey, CachedResponse response, TimeSpan timeToLive) =>
        Store(new ResponseKey(requestKey), response, response.Footprint, timeToLive);

    public void Dispose() => _cache.Dispose();

    private void Store(object key, object value, long footprint, TimeSpan timeToLive)
    {
        var size = EntryOverhead + footprint;
        if (size > SizeLimit)
        {
            return;
        }

        if (_cache.Count >= MaxEntries)
        {
            CompactInBackground();
            return;
        }

        _cache.Set(key, value, new MemoryCacheEntryOptions
        {
            Size = size,
            AbsoluteExpirationRelativeToNow = timeToLive,
        });
    }

    // As MemoryCache does when its size limit is reached: 5% of the entries, least recently used first,
    // removed off the request path, one compaction at a time.
    private void CompactInBackground()
    {
        if (Interlocked.Exchange(ref _compacting, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static tier =>
            {
                try
                {
                    tier._cache.Compact(0.05);
                }
                finally
                {
                    Volatile.Write(ref tier._compacting, 0);
                }
            }, this, preferLocal: false);
        }
    }

    // Stores entries with a value of no size into a scratch cache and counts what each one allocated: the
    // boxed key, the cache entry, its options and the index's share. Allocations slightly overstate what
    // stays (the options object is short-lived), so the limit errs on the safe side.
    private static long MeasureEntryOverhead()
    {
        const int Warm = 256;
        const int Measured = 4096;
        using var scratch = new MemoryCache(new MemoryCacheOptions { SizeLimit = long.MaxValue });
        var value = new object();
        for (var i = 0; i < Warm; i++)
        {
            StoreScratch(scratch, i, value);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = Warm; i < Warm + Measured; i++)
        {
            StoreScratch(scratch, i, value);
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before) / Measured;
    }

    private static void StoreScratch(MemoryCache cache, int i, object value) =>
        cache.Set((UInt128)i, value, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) });

    // Responses live beside predictions in the one cache, under keys of their own type.
    private readonly record struct ResponseKey(UInt128 Value);
}
