namespace ServingGateway.Inference.Common;

/// <summary>The state of a <see cref="CircuitBreaker"/> (the Redis cache tier's, the shared rate limits').</summary>
public enum CircuitState
{
    /// <summary>Redis answers: lookups and writes go to it.</summary>
    Closed,

    /// <summary>Redis failed: requests go on with the in-process tier alone.</summary>
    Open,

    /// <summary>The open time has passed: one lookup probes Redis; its outcome closes or reopens the circuit.</summary>
    HalfOpen,
}
