namespace ServingGateway.Batching;

/// <summary>
/// What a batcher has counted since it started, read at once for metrics (sg_queue_rejected_total,
/// sg_queue_wait_estimate_seconds, sg_deadline_answers_total, sg_queue_admission_share; docs/CONFIGURATION.md).
/// </summary>
/// <param name="QueuedRows">Rows admitted and not yet dispatched or dropped.</param>
/// <param name="EstimatedWait">
/// How long a request queued now behind every admitted row should wait: the rows over the best drain rate measured;
/// zero before any batch ran (nothing is known) or when nothing waits.
/// </param>
/// <param name="Rejected">Requests refused or dropped uncomputed, indexed by <see cref="RejectionReason"/>.</param>
/// <param name="AnsweredInTime">Requests with a target (their timeout, or the SLO) whose batch finished by it (goodput).</param>
/// <param name="AnsweredLate">Requests with a target whose batch finished after it.</param>
/// <param name="AdmissionShare">Deadline policy: the share of a request's deadline the work ahead may take now (<see cref="Batching.AdmissionShare"/>).</param>
internal readonly record struct QueueCounters(int QueuedRows, TimeSpan EstimatedWait, long[] Rejected, long AnsweredInTime, long AnsweredLate, double AdmissionShare = 1)
{
    /// <summary>Requests refused or dropped for <paramref name="reason"/>.</summary>
    public long RejectedFor(RejectionReason reason) => Rejected[(int)reason];
}
