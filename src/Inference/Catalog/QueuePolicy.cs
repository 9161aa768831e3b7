namespace ServingGateway.Inference.Catalog;

/// <summary>
/// Triton's default_queue_policy for a model's queue: a default timeout for requests that send none, whether a
/// request's own "timeout" parameter overrides it, and whether an expired request is rejected (503) or kept.
/// (Its max_queue_size is <see cref="ModelConfig.MaxQueueRows"/>.)
/// </summary>
/// <param name="TimeoutAction">What expiry does: REJECT drops the request uncomputed with a 503; DELAY keeps it queued.</param>
/// <param name="DefaultTimeoutMicroseconds">The timeout of a request that sends none (or 0); 0 for none.</param>
/// <param name="AllowTimeoutOverride">Whether a request's "timeout" parameter replaces the default.</param>
internal sealed record QueuePolicy(QueueTimeoutAction TimeoutAction, long DefaultTimeoutMicroseconds, bool AllowTimeoutOverride)
{
    /// <summary>Today's behaviour, and Triton's default: no default timeout, requests may set one, expiry rejects.</summary>
    public static QueuePolicy Default { get; } = new(QueueTimeoutAction.Reject, 0, true);

    /// <summary>The time a request may wait in the queue before it is dropped, or null for no limit.</summary>
    /// <param name="requestedMicroseconds">The request's "timeout" parameter; 0 when it sent none.</param>
    public TimeSpan? Timeout(long requestedMicroseconds)
    {
        if (TimeoutAction == QueueTimeoutAction.Delay)
        {
            // DELAY never drops a request; Triton moves it behind the others, this queue leaves it where it is.
            return null;
        }

        var micros = AllowTimeoutOverride && requestedMicroseconds > 0 ? requestedMicroseconds : DefaultTimeoutMicroseconds;
        return micros > 0 ? TimeSpan.FromMicroseconds(micros) : null;
    }
}
