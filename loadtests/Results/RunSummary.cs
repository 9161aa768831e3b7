namespace ServingGateway.LoadTool.Results;

/// <summary>
/// The results of the measured part of one run (warm-up excluded). Latency is from each request's
/// intended send time (open loop) or actual send time (closed loop) to its complete response;
/// service time is always from the actual send. Both count responses of any status; failures
/// without a response (connection errors, timeouts) count only in <see cref="Errors"/>.
/// </summary>
internal sealed record RunSummary
{
    /// <summary>The load as people read it, e.g. "open loop, 2000 req/s".</summary>
    public string Description { get; init; } = "";

    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>From the start of measurement to the last completion, at least the planned duration.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Requests that finished: responses plus failures without a response.</summary>
    public required long Finished { get; init; }

    public required long Responses { get; init; }

    public required long Successes { get; init; }

    /// <summary>Non-2xx responses plus failures without a response.</summary>
    public required long Errors { get; init; }

    public required long WarmupRequests { get; init; }

    public required LatencyDistribution Latency { get; init; }

    public required LatencyDistribution ServiceTime { get; init; }

    public required IReadOnlyList<TargetSummary> Targets { get; init; }

    public required IReadOnlyList<TimelineSecond> Timeline { get; init; }

    public required IReadOnlyDictionary<ErrorKey, long> ErrorCounts { get; init; }

    /// <summary>Responses by status: HTTP statuses, or gRPC status codes in a gRPC run.</summary>
    public required IReadOnlyDictionary<ResponseStatus, long> StatusCounts { get; init; }

    /// <summary>X-Cache values of the responses ("(none)" when absent).</summary>
    public required IReadOnlyDictionary<string, long> Cache { get; init; }

    /// <summary>X-Served-By values of the responses ("(none)" when absent).</summary>
    public required IReadOnlyDictionary<string, long> ServedBy { get; init; }

    /// <summary>The model versions that answered (X-Model-Version; gRPC model_version; "(none)" when absent).</summary>
    public IReadOnlyDictionary<string, long> Versions { get; init; } = new Dictionary<string, long>(StringComparer.Ordinal);

    /// <summary>The latency an answer must keep to count as goodput (<c>--slo</c>); null when none was given.</summary>
    public TimeSpan? Slo { get; init; }

    /// <summary>2xx responses whose latency is at most <see cref="Slo"/>; null without an SLO.</summary>
    public long? WithinSlo { get; init; }

    /// <summary>Latency of the 2xx responses alone; null when not recorded.</summary>
    public LatencyDistribution? SuccessLatency { get; init; }

    /// <summary>Latency of the refusals (503, 429) alone: how fast a server says no; null when not recorded.</summary>
    public LatencyDistribution? RefusalLatency { get; init; }

    /// <summary>
    /// The refusals' service time: from each one's actual send, not its intended send. How long the server took to
    /// say no, without the time the tool itself was late sending (an open loop on a busy machine); null when not recorded.
    /// </summary>
    public LatencyDistribution? RefusalServiceTime { get; init; }

    /// <summary>Responses 503 or 429 (gRPC: UNAVAILABLE or RESOURCE_EXHAUSTED).</summary>
    public long Refusals { get; init; }

    /// <summary>Refusals that carried a Retry-After header (gRPC: a retry-after trailer).</summary>
    public long RefusalsWithRetryAfter { get; init; }

    /// <summary>Schedule keeping of an open-loop run; null for a closed loop.</summary>
    public OpenLoopStats? OpenLoop { get; init; }

    /// <summary>Finished requests per second.</summary>
    public double Throughput => Elapsed > TimeSpan.Zero ? Finished / Elapsed.TotalSeconds : 0;

    /// <summary>2xx responses per second.</summary>
    public double SuccessRate => Elapsed > TimeSpan.Zero ? Successes / Elapsed.TotalSeconds : 0;

    /// <summary>Goodput: 2xx answers within the SLO per second; null without an SLO.</summary>
    public double? Goodput => WithinSlo is { } good ? (Elapsed > TimeSpan.Zero ? good / Elapsed.TotalSeconds : 0) : null;

    /// <summary>Answers within the SLO ÷ finished requests (0 to 1); null without an SLO.</summary>
    public double? GoodputShare => WithinSlo is { } good ? (Finished == 0 ? 0 : (double)good / Finished) : null;

    /// <summary>Errors ÷ finished requests (0 to 1).</summary>
    public double ErrorRate => Finished == 0 ? 0 : (double)Errors / Finished;
}
