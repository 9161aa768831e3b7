using ServingGateway.Batching;

namespace ServingGateway.Inference.Catalog;

/// <summary>
/// A model's <c>overload</c> settings in config.json: what its batcher does past capacity (docs/BATCHING.md,
/// "Overload"): <c>{"policy": "queue" | "deadline" | "codel", "slo_factor": 2, "codel_target_ms": 25,
/// "codel_interval_ms": 100}</c>.
/// </summary>
/// <param name="Policy">Deadline (the default), queue (refuse only past max_queue_rows / max_queue_mb) or codel.</param>
/// <param name="SloFactor">Deadline: a request without a timeout must be done within latency_slo_ms times this (1 to 100).</param>
/// <param name="CoDelTargetMs">CoDel: the standing queue delay tolerated (1 to 60000).</param>
/// <param name="CoDelIntervalMs">CoDel: how long the queue must not empty before it sheds (1 to 60000).</param>
internal sealed record OverloadSettings(OverloadPolicy Policy, double SloFactor, double CoDelTargetMs, double CoDelIntervalMs)
{
    /// <summary>
    /// The defaults: deadline, factor 2, target 25 ms, interval 100 ms. Safe for a model that names no latency_slo_ms:
    /// its requests have no deadline unless they send a timeout, so nothing is refused by deadline.
    /// </summary>
    public static OverloadSettings Default { get; } = new(OverloadPolicy.Deadline, 2, 25, 100);

    /// <summary>The policy's name in config.json.</summary>
    public string PolicyName => Policy.ToString().ToLowerInvariant();
}
