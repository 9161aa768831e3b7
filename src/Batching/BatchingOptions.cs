namespace ServingGateway.Batching;

/// <summary>The settings of one batcher (one model version).</summary>
internal sealed class BatchingOptions
{
    /// <summary>Rows per batch at most; a request's rows are never split. At least 1.</summary>
    public int MaxBatchRows { get; init; } = 1;

    /// <summary>Rows waiting in the queue at most; a request that would pass it is refused at once. At least <see cref="MaxBatchRows"/>.</summary>
    public int MaxQueueRows { get; init; } = 1024;

    /// <summary>
    /// Bytes of input waiting in the queue at most; a request that would pass it is refused at once, unless the
    /// queue holds nothing else (a request larger than the whole limit still runs, alone). At least 1.
    /// Default: no limit.
    /// </summary>
    public long MaxQueueBytes { get; init; } = long.MaxValue;

    /// <summary>Batches that may run at the same time: the model's instances.</summary>
    public int Instances { get; init; } = 1;

    /// <summary>When to dispatch.</summary>
    public BatchingMode Mode { get; init; } = BatchingMode.Adaptive;

    /// <summary>Adaptive mode: the latency a request should see, queueing and execution together.</summary>
    public TimeSpan LatencySlo { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest a request waits for others to join its batch (fixed mode: always waits this long unless the batch fills).</summary>
    public TimeSpan MaxQueueDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Fixed mode: batch sizes dispatched as soon as they can be formed (Triton's preferred_batch_size).</summary>
    public int[] PreferredBatchSizes { get; init; } = [];

    /// <summary>Priority levels; level 0 is served first.</summary>
    public int PriorityLevels { get; init; } = 1;

    /// <summary>
    /// What to do past capacity (<see cref="OverloadPolicy"/>). Default: deadline, which refuses nothing by deadline
    /// for a request without a timeout unless <see cref="HasLatencySlo"/>.
    /// </summary>
    public OverloadPolicy Overload { get; init; } = OverloadPolicy.Deadline;

    /// <summary>
    /// Whether the model named its latency SLO (latency_slo_ms). Only then does the deadline policy give a request
    /// without a timeout the deadline <see cref="LatencySlo"/> x <see cref="SloFactor"/>: the adaptive rule's default
    /// budget of 50 ms is a batching hint, not a promise a caller made, and must not refuse anyone. Default false.
    /// </summary>
    public bool HasLatencySlo { get; init; }

    /// <summary>Deadline policy: a request without a timeout must complete within <see cref="LatencySlo"/> times this (when <see cref="HasLatencySlo"/>). Default 2; 1 to 100.</summary>
    public double SloFactor { get; init; } = 2;

    /// <summary>CoDel policy: the standing queue delay tolerated. Default 25 ms (half the default SLO); at least 1 ms.</summary>
    public TimeSpan CoDelTarget { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>CoDel policy: how long the delay must stay above the target before requests are shed. Default 100 ms; at least 1 ms.</summary>
    public TimeSpan CoDelInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The deadline of a request queued at <paramref name="now"/> with <paramref name="timeout"/> (timestamps of <paramref name="frequency"/>).</summary>
    public long DeadlineOf(long now, TimeSpan? timeout, long frequency)
    {
        var wait = timeout ?? (Overload == OverloadPolicy.Deadline && HasLatencySlo ? LatencySlo * SloFactor : (TimeSpan?)null);
        return wait is { } w ? now + (long)(w.TotalSeconds * frequency) : long.MaxValue;
    }

    /// <summary>
    /// The time by which a request queued at <paramref name="now"/> with <paramref name="timeout"/> should be answered to
    /// count as in time (goodput): its timeout, else (deadline policy, <see cref="HasLatencySlo"/>) the SLO itself, not
    /// times the factor; <see cref="long.MaxValue"/> for none. What <see cref="AdmissionShare"/> learns from.
    /// </summary>
    public long TargetOf(long now, TimeSpan? timeout, long frequency)
    {
        var wait = timeout ?? (Overload == OverloadPolicy.Deadline && HasLatencySlo ? LatencySlo : (TimeSpan?)null);
        return wait is { } w ? now + (long)(w.TotalSeconds * frequency) : long.MaxValue;
    }

    /// <summary>Lists every invalid setting.</summary>
    public IEnumerable<string> Validate()
    {
        if (MaxBatchRows < 1)
        {
            yield return $"max batch rows must be at least 1; it is {MaxBatchRows}";
        }

        if (MaxQueueRows < MaxBatchRows)
        {
            yield return $"max_queue_rows ({MaxQueueRows}) must be at least the batch size ({MaxBatchRows})";
        }

        if (MaxQueueBytes < 1)
        {
            yield return $"max queue bytes must be at least 1; it is {MaxQueueBytes}";
        }

        if (Instances < 1)
        {
            yield return $"instances must be at least 1; it is {Instances}";
        }

        if (LatencySlo <= TimeSpan.Zero)
        {
            yield return "latency_slo_ms must be positive";
        }

        if (MaxQueueDelay < TimeSpan.Zero)
        {
            yield return "max_queue_delay_ms cannot be negative";
        }

        if (PreferredBatchSizes.Any(s => s < 1 || s > MaxBatchRows))
        {
            yield return $"preferred_batch_sizes must be from 1 to {MaxBatchRows}";
        }

        if (PriorityLevels < 1)
        {
            yield return "priority_levels must be at least 1";
        }

        if (!Enum.IsDefined(Overload))
        {
            yield return $"overload policy must be queue, deadline or codel; it is {Overload}";
        }

        if (SloFactor is < 1 or > 100 || double.IsNaN(SloFactor))
        {
            yield return $"overload slo_factor must be from 1 to 100; it is {SloFactor}";
        }

        if (CoDelTarget < TimeSpan.FromMilliseconds(1) || CoDelInterval < TimeSpan.FromMilliseconds(1))
        {
            yield return "overload codel_target_ms and codel_interval_ms must be at least 1";
        }
    }
}
