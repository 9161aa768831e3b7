namespace ServingGateway.Batching;

/// <summary>What a batcher does when more work arrives than it can finish in time (docs/BATCHING.md, "Overload").</summary>
internal enum OverloadPolicy
{
    /// <summary>Queue everything up to the row and byte limits; refuse only past them (Triton's behaviour).</summary>
    Queue,

    /// <summary>
    /// Refuse at once a request whose expected completion (the work queued ahead of it at its priority or a more
    /// urgent one, at the measured drain rate, plus one run) is past its deadline: its timeout, else the
    /// latency SLO times <see cref="BatchingOptions.SloFactor"/>. Queued requests whose deadline passed are dropped.
    /// </summary>
    Deadline,

    /// <summary>
    /// Controlled delay for bursts: while the queue's oldest request has waited longer than
    /// <see cref="BatchingOptions.CoDelTarget"/> for a whole <see cref="BatchingOptions.CoDelInterval"/> (a standing
    /// queue, not a burst), queued requests that waited longer than the target are dropped.
    /// </summary>
    CoDel,
}
