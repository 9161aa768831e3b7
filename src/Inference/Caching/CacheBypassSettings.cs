namespace ServingGateway.Inference.Caching;

/// <summary>
/// The settings of <see cref="CacheLookupGate"/>, from <see cref="CacheOptions"/>, with the window in the ticks of
/// the clock the pipeline measures with.
/// </summary>
/// <param name="Enabled">Cache:PauseUnprofitable: whether a cache that does not pay may be paused.</param>
/// <param name="SampleEvery">Cache:PausedSampleEvery: while paused, one request in this many still looks up.</param>
/// <param name="WindowTimestampTicks">Cache:PauseWindowSeconds in <see cref="TimeProvider.TimestampFrequency"/> ticks.</param>
internal sealed record CacheBypassSettings(bool Enabled, int SampleEvery, long WindowTimestampTicks)
{
    /// <summary>The settings of <paramref name="options"/> on <paramref name="time"/>'s clock.</summary>
    public static CacheBypassSettings From(CacheOptions options, TimeProvider time) =>
        new(options.PauseUnprofitable, options.PausedSampleEvery, (long)(options.PauseWindowSeconds * time.TimestampFrequency));
}
