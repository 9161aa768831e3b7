namespace ServingGateway.Batching;

/// <summary>A request the batcher refused or dropped before computing it: the queue was full, its deadline could not be met or passed, or CoDel shed it.</summary>
internal sealed class BatchRejectedException : Exception
{
    public BatchRejectedException(string message, TimeSpan retryAfter, RejectionReason reason)
        : base(message)
    {
        RetryAfter = retryAfter;
        Reason = reason;
    }

    /// <summary>Why: for metrics and logs.</summary>
    public RejectionReason Reason { get; }

    /// <summary>The estimated time for the queue to drain: when a retry is likely to be taken.</summary>
    public TimeSpan RetryAfter { get; }
}
