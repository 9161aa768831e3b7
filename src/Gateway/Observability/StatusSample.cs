namespace ServingGateway.Observability;

/// <summary>One point of a model version's status history: what happened during one sample period.</summary>
/// <param name="UnixMs">When the period ended, in milliseconds since the Unix epoch.</param>
/// <param name="Rps">Requests finished per second (answered and failed).</param>
/// <param name="P50Ms">Median duration of the answered requests, in milliseconds; null when none was answered.</param>
/// <param name="P99Ms">99th percentile duration of the answered requests, in milliseconds; null when none was answered.</param>
/// <param name="QueuedRows">Rows in the version's batcher queue when the period ended.</param>
/// <param name="CacheHitRatio">Cache hits over lookups during the period; null when nothing was looked up.</param>
/// <param name="DriftPsi">The largest input PSI of the last complete drift window; null when drift is off or no window completed.</param>
internal readonly record struct StatusSample(long UnixMs, double Rps, double? P50Ms, double? P99Ms, int QueuedRows, double? CacheHitRatio, double? DriftPsi);
