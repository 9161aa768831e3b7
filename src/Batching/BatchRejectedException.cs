namespace ServingGateway.Batching;

/// <summary>A request the batcher refused or dropped before computing it: the queue was full or its timeout passed.</summary>
internal sealed class BatchRejectedException : Exception
{
    public BatchRejectedException(string message, TimeSpan retryAfter)
        : base(message)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>The estimated time for the queue to drain: when a retry is likely to be taken.</summary>
    public TimeSpan RetryAfter { get; }
}
