namespace ServingGateway.Inference.Caching;

/// <summary>The state of the Redis tier's circuit breaker.</summary>
internal enum CircuitState
{
    /// <summary>Redis answers: lookups and writes go to it.</summary>
    Closed,

    /// <summary>Redis failed: requests go on with the in-process tier alone.</summary>
    Open,

    /// <summary>The open time has passed: one lookup probes Redis; its outcome closes or reopens the circuit.</summary>
    HalfOpen,
}
