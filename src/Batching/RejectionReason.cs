namespace ServingGateway.Batching;

/// <summary>Why a batcher refused or dropped a request before computing it (the <c>reason</c> of sg_queue_rejected_total).</summary>
internal enum RejectionReason
{
    /// <summary>The queue's row limit, max_queue_rows (at enqueue).</summary>
    QueueRows,

    /// <summary>The queue's byte limit, max_queue_mb (at enqueue).</summary>
    QueueBytes,

    /// <summary>Deadline policy: the work queued ahead could not finish before its deadline (at enqueue).</summary>
    Deadline,

    /// <summary>Its deadline (timeout, or the SLO times the factor) passed while it waited in the queue.</summary>
    Expired,

    /// <summary>CoDel policy: shed from a standing queue.</summary>
    CoDel,
}
