namespace ServingGateway.Batching;

/// <summary>Why a batcher refused or dropped a request before computing it.</summary>
internal enum RejectionReason
{
    /// <summary>The queue's row or byte limit (at enqueue).</summary>
    QueueFull,

    /// <summary>Deadline policy: the work queued ahead could not finish before its deadline (at enqueue).</summary>
    Deadline,

    /// <summary>Its deadline (timeout, or the SLO times the factor) passed while it waited in the queue.</summary>
    Expired,

    /// <summary>CoDel policy: shed from a standing queue.</summary>
    CoDel,
}
