namespace ServingGateway.Batching;

/// <summary>How a batcher decides when to dispatch.</summary>
internal enum BatchingMode
{
    /// <summary>Waits only while more rows are expected within the latency SLO budget (docs/BATCHING.md).</summary>
    Adaptive,

    /// <summary>Triton's dynamic batcher: dispatches at max batch size, a preferred size, or after the fixed max queue delay.</summary>
    Fixed,

    /// <summary>No merging: every request runs alone, still through the queue and the instances.</summary>
    Off,
}
