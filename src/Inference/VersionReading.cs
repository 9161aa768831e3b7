using ServingGateway.Inference.Metrics;

namespace ServingGateway.Inference;

/// <summary>
/// One row of <see cref="NodeReadings.Read"/>: a model version (or a whole model) as the repository index reports
/// it, with the counters the node keeps for it while it is resident. Counters are cumulative since the version
/// loaded (they start again from zero when it loads again); a version that is not resident reads zeros.
/// </summary>
/// <param name="Model">The model's name.</param>
/// <param name="Version">The version, or null for a row about the whole model (no version could be considered).</param>
/// <param name="State">READY, LOADING or UNAVAILABLE, as the repository index says.</param>
/// <param name="Reason">Why it is not ready; empty when it is.</param>
/// <param name="Resident">Whether the version holds its sessions now.</param>
/// <param name="Successes">Requests answered (statistics' success count).</param>
/// <param name="Failures">Requests that failed after reaching the model.</param>
/// <param name="CacheHits">Predictions found in the cache (either tier).</param>
/// <param name="CacheMisses">Predictions looked up and not found.</param>
/// <param name="QueuedRows">Rows waiting in the version's batcher now.</param>
/// <param name="DriftPsi">The largest input PSI of the last complete drift window; null when drift is off or no window completed.</param>
/// <param name="DriftThreshold">The version's drift threshold (config.json drift.threshold); null when drift is off.</param>
/// <param name="LatencyCounts">Answered requests per <see cref="LatencyBuckets"/> bucket (<see cref="LatencyBuckets.Count"/> entries; empty when not resident).</param>
public readonly record struct VersionReading(
    string Model,
    string? Version,
    string State,
    string Reason,
    bool Resident,
    long Successes,
    long Failures,
    long CacheHits,
    long CacheMisses,
    int QueuedRows,
    double? DriftPsi,
    double? DriftThreshold,
    IReadOnlyList<long> LatencyCounts);
