namespace ServingGateway.Inference.Metrics;

/// <summary>
/// The counters behind Triton's statistics extension for one model version: requests by outcome and
/// phase (count and cumulative nanoseconds), and per batch size the batches run and their phase times.
/// </summary>
/// <remarks>
/// As in Triton, request-level phase figures count each request of a batch with the batch's phase time;
/// <see cref="InferenceCount"/> counts rows and <see cref="ExecutionCount"/> batches. Thread-safe.
/// </remarks>
internal sealed class ModelStatistics
{
    private readonly BatchSizeStatistics[] _bySize;
    private readonly long[] _latency = new long[LatencyBuckets.Count];
    private long _inferenceCount;
    private long _executionCount;
    private long _lastInferenceMs;

    public ModelStatistics(int maxBatchRows)
    {
        _bySize = [.. Enumerable.Range(0, maxBatchRows + 1).Select(_ => new BatchSizeStatistics())];
    }

    /// <summary>Requests that got an answer.</summary>
    public Duration Success { get; } = new();

    /// <summary>Requests that failed after reaching the model (bad input, queue full, timeout, model error).</summary>
    public Duration Fail { get; } = new();

    /// <summary>Time in the batcher's queue.</summary>
    public Duration Queue { get; } = new();

    /// <summary>Assembling the batch's input tensors.</summary>
    public Duration ComputeInput { get; } = new();

    /// <summary>Running the model.</summary>
    public Duration ComputeInfer { get; } = new();

    /// <summary>Splitting the batch's outputs back to the requests.</summary>
    public Duration ComputeOutput { get; } = new();

    /// <summary>Predictions found in the cache (either tier), with the lookup time.</summary>
    public Duration CacheHit { get; } = new();

    /// <summary>Predictions not found in the cache, with the lookup time.</summary>
    public Duration CacheMiss { get; } = new();

    /// <summary>Rows inferred.</summary>
    public long InferenceCount => Interlocked.Read(ref _inferenceCount);

    /// <summary>Batches run.</summary>
    public long ExecutionCount => Interlocked.Read(ref _executionCount);

    /// <summary>When the last batch finished, in milliseconds since the Unix epoch; 0 before any.</summary>
    public long LastInferenceMs => Interlocked.Read(ref _lastInferenceMs);

    /// <summary>Per batch size (index = rows), the batches run at that size.</summary>
    public IReadOnlyList<BatchSizeStatistics> BySize => _bySize;

    /// <summary>Counts one answered request's duration in its <see cref="LatencyBuckets"/> bucket (the status page's p50 and p99).</summary>
    public void RecordLatency(long nanoseconds) => Interlocked.Increment(ref _latency[LatencyBuckets.IndexOf(nanoseconds)]);

    /// <summary>The answered requests counted per <see cref="LatencyBuckets"/> bucket since the version loaded.</summary>
    public long[] CopyLatency()
    {
        var copy = new long[LatencyBuckets.Count];
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = Interlocked.Read(ref _latency[i]);
        }

        return copy;
    }

    /// <summary>Records one batch of <paramref name="rows"/> rows and <paramref name="requests"/> requests.</summary>
    public void RecordBatch(int rows, int requests, long inputNs, long inferNs, long outputNs, long finishedUnixMs)
    {
        Interlocked.Add(ref _inferenceCount, rows);
        Interlocked.Increment(ref _executionCount);
        Interlocked.Exchange(ref _lastInferenceMs, finishedUnixMs);
        ComputeInput.Add(requests, inputNs * requests);
        ComputeInfer.Add(requests, inferNs * requests);
        ComputeOutput.Add(requests, outputNs * requests);
        var size = _bySize[Math.Clamp(rows, 0, _bySize.Length - 1)];
        size.ComputeInput.Add(1, inputNs);
        size.ComputeInfer.Add(1, inferNs);
        size.ComputeOutput.Add(1, outputNs);
    }

    /// <summary>A count and the nanoseconds spent, as Triton reports {"count", "ns"}.</summary>
    internal sealed class Duration
    {
        private long _count;
        private long _ns;

        public long Count => Interlocked.Read(ref _count);

        public long Nanoseconds => Interlocked.Read(ref _ns);

        public void Add(long count, long nanoseconds)
        {
            Interlocked.Add(ref _count, count);
            Interlocked.Add(ref _ns, nanoseconds);
        }
    }

    /// <summary>The batches run at one size.</summary>
    internal sealed class BatchSizeStatistics
    {
        public Duration ComputeInput { get; } = new();

        public Duration ComputeInfer { get; } = new();

        public Duration ComputeOutput { get; } = new();
    }
}
