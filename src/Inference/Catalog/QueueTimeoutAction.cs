namespace ServingGateway.Inference.Catalog;

/// <summary>Triton's timeout_action: what happens to a request whose queue timeout expires.</summary>
internal enum QueueTimeoutAction
{
    /// <summary>Dropped uncomputed with a 503 (Triton's REJECT, the default).</summary>
    Reject,

    /// <summary>Kept in the queue (Triton's DELAY).</summary>
    Delay,
}
