using System.Globalization;
using ServingGateway.Batching;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Drift;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Runtime;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Residency;

/// <summary>
/// Residency: a resident model version: its signature, digest, executors (<see cref="IModelExecutor"/>),
/// dynamic batcher and statistics, reference-counted so that an unload, a replacement or an eviction waits
/// for the requests in flight and queued before the executors are disposed. Built by <see cref="ModelHostFactory"/>.
/// </summary>
/// <remarks>
/// The repository holds one reference from load until it retires the version; each request holds one
/// between <see cref="TryAcquire"/> and <see cref="Release"/>. The last release stops the batcher and
/// disposes the instances: no request is queued or running by then.
/// </remarks>
internal sealed class ModelHost
{
    private readonly IModelExecutor[] _instances;
    private readonly DynamicBatcher<InferRequest, PooledTensor[]> _batcher;
    private readonly ModelConfig _config;
    private readonly NodeMetrics _metrics;
    private int _references = 1;
    private int _retired;

    /// <summary>Takes ownership of <paramref name="instances"/> and <paramref name="drift"/>.</summary>
    public ModelHost(string modelName, long version, string digest, ModelSignature signature, IModelExecutor[] instances,
        string executionProvider, ModelConfig config, NodeMetrics metrics, TimeProvider time, DriftMonitor? drift = null)
    {
        Drift = drift;
        ModelName = modelName;
        Version = version;
        VersionText = version.ToString(CultureInfo.InvariantCulture);
        Digest = digest;
        Signature = signature;
        ExecutionProvider = executionProvider;
        CacheKeyPrefix = CacheKey.Prefix(modelName, version, digest);
        LookupGate = new CacheLookupGate(ResponseCosts, PredictionCosts);
        _instances = instances;
        _config = config;
        _metrics = metrics;
        var maxRows = Math.Max(signature.MaxBatchSize, 1);
        Statistics = new ModelStatistics(maxRows);
        Batching = new BatchingOptions
        {
            MaxBatchRows = maxRows,
            MaxQueueRows = Math.Max(config.MaxQueueRows, maxRows),
            MaxQueueBytes = config.MaxQueueMb * 1024L * 1024,
            Instances = instances.Length,
            Mode = config.Batching,
            LatencySlo = TimeSpan.FromMilliseconds(config.LatencySloMs),
            HasLatencySlo = config.LatencySloSet,
            MaxQueueDelay = TimeSpan.FromMilliseconds(config.MaxQueueDelayMs),
            PreferredBatchSizes = config.PreferredBatchSizes,
            PriorityLevels = config.PriorityLevels,
            Overload = config.Overload.Policy,
            SloFactor = config.Overload.SloFactor,
            CoDelTarget = TimeSpan.FromMilliseconds(config.Overload.CoDelTargetMs),
            CoDelInterval = TimeSpan.FromMilliseconds(config.Overload.CoDelIntervalMs),
        };
        DynamicBatcher<InferRequest, PooledTensor[]>? batcher = null;
        var versionMetrics = metrics.ForVersion(modelName, VersionText, () => batcher?.Counters, config.LatencySloSet ? Batching.LatencySlo : null);
        var runner = new BatchRunner(instances, signature, Statistics, versionMetrics, time);
        _batcher = batcher = new DynamicBatcher<InferRequest, PooledTensor[]>(Batching, runner.Execute, time);
    }

    /// <summary>The model's name.</summary>
    public string ModelName { get; }

    /// <summary>The version number.</summary>
    public long Version { get; }

    /// <summary>The version number as text, as OIP sends it.</summary>
    public string VersionText { get; }

    /// <summary>"sha256:" and the hex SHA-256 over the version folder's files; immutable for a loaded version.</summary>
    public string Digest { get; }

    /// <summary>Inputs, outputs and batching.</summary>
    public ModelSignature Signature { get; }

    /// <summary>Where the sessions run: "cpu" or "cuda".</summary>
    public string ExecutionProvider { get; }

    /// <summary>The number of session instances.</summary>
    public int InstanceCount => _instances.Length;

    /// <summary>How the batcher of this version batches.</summary>
    public BatchingOptions Batching { get; }

    /// <summary>The model's settings this version was loaded with.</summary>
    public ModelConfig Config => _config;

    /// <summary>Whether and how this version's predictions are cached.</summary>
    public CachePolicy CachePolicy => _config.Cache;

    /// <summary>What every cache key of this version starts with (its name and digest).</summary>
    public byte[] CacheKeyPrefix { get; }

    /// <summary>The cost test of this version's prediction cache (admission <c>auto</c>).</summary>
    public CacheCostMeter PredictionCosts { get; } = new();

    /// <summary>The cost test of this version's byte-identical response cache (admission <c>auto</c>).</summary>
    public CacheCostMeter ResponseCosts { get; } = new();

    /// <summary>Whether this version's caches are worth looking in now (Cache:PauseUnprofitable).</summary>
    public CacheLookupGate LookupGate { get; }

    /// <summary>The version's input drift monitor; null when config.json leaves drift off (the request path then does nothing).</summary>
    public DriftMonitor? Drift { get; }

    /// <summary>Triton's statistics of this version.</summary>
    public ModelStatistics Statistics { get; }

    /// <summary>
    /// Queues <paramref name="request"/> in the version's batcher and returns its outputs (the caller's to dispose).
    /// </summary>
    /// <exception cref="InferenceException">400 for a priority out of range or an input the model refuses; 503 (with Retry-After) when the queue is full (max_queue_rows or max_queue_mb) or the request's timeout passed in the queue.</exception>
    public async Task<PooledTensor[]> InferAsync(InferRequest request, CancellationToken cancellationToken)
    {
        var batching = Signature.MaxBatchSize > 0;
        var rows = batching ? (int)request.BatchSize : 1;
        var key = batching ? ShapeKey.Of(request.Inputs) : ShapeKey.Unbatched;
        var timeout = _config.QueuePolicy.Timeout(request.TimeoutMicroseconds ?? 0);
        try
        {
            // A request that did not come over HTTP has no arrival time: it arrived now (the batcher takes the earlier of the two).
            var arrivedAt = request.ReceivedAt ?? long.MaxValue;
            return await _batcher.EnqueueAsync(request, rows, QueuedBytesOf(request), key, PriorityLevel(request.Priority), timeout, arrivedAt, cancellationToken).ConfigureAwait(false);
        }
        catch (BatchRejectedException ex)
        {
            throw new InferenceException(Microsoft.AspNetCore.Http.StatusCodes.Status503ServiceUnavailable, ex.Message) { RetryAfter = ex.RetryAfter };
        }
    }

    /// <summary>Rows waiting in the batcher's queue.</summary>
    public int QueuedRows => _batcher.QueuedRows;

    /// <summary>Takes a reference for a request; false once the version is retired and drained.</summary>
    public bool TryAcquire()
    {
        var current = Volatile.Read(ref _references);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    /// <summary>Gives back a reference taken by <see cref="TryAcquire"/>.</summary>
    public void Release()
    {
        var left = Interlocked.Decrement(ref _references);
        if (left == 0)
        {
            DisposeResources();
        }
        else if (left == 1)
        {
            Idle?.Invoke(); // only the repository's reference is left: the version may be evicted now
        }
    }

    /// <summary>Called when the last request's reference goes and the version becomes idle (multiplexing waits on it).</summary>
    public Action? Idle { get; set; }

    // Runs once, when the reference count reaches 0 (the last release, or an eviction).
    private void DisposeResources()
    {
        // Nothing is queued or running: stopping the batcher completes at once.
        _ = _batcher.DisposeAsync().AsTask();
        _metrics.RemoveVersion(ModelName, VersionText);
        Drift?.Dispose();
        foreach (var instance in _instances)
        {
            instance.Dispose();
        }
    }

    /// <summary>True until the version is retired or evicted and its last reference is gone.</summary>
    public bool IsResident => Volatile.Read(ref _references) > 0;

    /// <summary>
    /// Evicts an idle version at once: succeeds only when the repository's is the one reference left (no
    /// request in flight or queued: each holds a reference from acquire to reply) and the batcher's queue is
    /// empty; the executors are disposed before it returns. Afterwards <see cref="TryAcquire"/> fails.
    /// </summary>
    public bool TryEvict()
    {
        if (Volatile.Read(ref _retired) != 0 || _batcher.QueuedRows > 0)
        {
            return false;
        }

        // 1 -> 0 in one step: a request that takes a reference first makes this fail; one that comes after fails.
        if (Interlocked.CompareExchange(ref _references, 0, 1) != 1)
        {
            return false;
        }

        Volatile.Write(ref _retired, 1);
        DisposeResources();
        return true;
    }

    /// <summary>The repository's release: the sessions are disposed once the requests in flight finish.</summary>
    public void Retire()
    {
        if (Interlocked.Exchange(ref _retired, 1) == 0)
        {
            Release();
        }
    }

    // The memory a queued request pins: its inputs' pooled buffers, as rented.
    private static long QueuedBytesOf(InferRequest request)
    {
        var bytes = 0L;
        foreach (var input in request.Inputs)
        {
            bytes += input.Buffer.Length;
        }

        return bytes;
    }

    // OIP priority: 1 is first, N the last of priority_levels; 0 (or none) takes default_priority_level.
    private int PriorityLevel(long priority)
    {
        if (priority == 0)
        {
            return _config.DefaultPriorityLevel - 1;
        }

        if (priority > _config.PriorityLevels)
        {
            throw InferenceException.BadRequest(
                $"priority {priority} is out of range: this model has priority_levels {_config.PriorityLevels} (send 1 to {_config.PriorityLevels}, or 0 for the default)");
        }

        return (int)priority - 1;
    }
}
