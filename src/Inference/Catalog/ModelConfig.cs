using ServingGateway.Batching;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Drift;

namespace ServingGateway.Inference.Catalog;

/// <summary>
/// A model's settings: its <c>config.json</c> over its Triton <c>config.pbtxt</c> over the node's defaults
/// (<see cref="ModelConfigReader"/>).
/// </summary>
internal sealed record ModelConfig
{
    /// <summary>Triton's max_batch_size; null when config.json leaves it to be derived from the model.</summary>
    public int? MaxBatchSize { get; init; }

    /// <summary>ONNX Runtime sessions per version.</summary>
    public int Instances { get; init; }

    /// <summary>Where the sessions run.</summary>
    public ExecutionProviderKind ExecutionProvider { get; init; }

    /// <summary>The CUDA device ordinal (of every instance, when <see cref="Gpus"/> is empty).</summary>
    public int DeviceId { get; init; }

    /// <summary>
    /// The CUDA device of each instance in turn, from config.pbtxt's instance_group gpus (count instances on each
    /// listed GPU, as Triton); instances beyond the list go round it again. Empty: all on <see cref="DeviceId"/>.
    /// config.json's device_id clears it.
    /// </summary>
    public int[] Gpus { get; init; } = [];

    /// <summary>ONNX Runtime intra-op threads per session; 0 lets ONNX Runtime choose.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>ONNX Runtime inter-op threads per session; 0 lets ONNX Runtime choose.</summary>
    public int InterOpThreads { get; init; }

    /// <summary>Which versions to serve.</summary>
    public VersionPolicy VersionPolicy { get; init; } = VersionPolicy.Default;

    /// <summary>How the dynamic batcher decides when to dispatch: adaptive (default), fixed (Triton's) or off.</summary>
    public BatchingMode Batching { get; init; } = BatchingMode.Adaptive;

    /// <summary>The latency a request should see, queue and execution together (adaptive mode). Default 50 ms.</summary>
    public double LatencySloMs { get; init; } = 50;

    /// <summary>
    /// Whether config.json names <see cref="LatencySloMs"/>: only then does the deadline policy give requests without
    /// a timeout a deadline (latency_slo_ms x slo_factor), so a model that never named an SLO refuses nothing by deadline.
    /// </summary>
    public bool LatencySloSet { get; init; }

    /// <summary>The longest a request waits for others to join its batch. Default 5 ms.</summary>
    public double MaxQueueDelayMs { get; init; } = 5;

    /// <summary>Fixed mode: batch sizes dispatched as soon as they can be formed.</summary>
    public int[] PreferredBatchSizes { get; init; } = [];

    /// <summary>Rows that may wait in the queue; more are refused with 503. Default 1024.</summary>
    public int MaxQueueRows { get; init; } = 1024;

    /// <summary>The default of <see cref="MaxQueueMb"/>.</summary>
    public const int DefaultMaxQueueMb = 256;

    /// <summary>
    /// MiB of decoded inputs that may wait in the queue (the pooled buffers they hold); more are refused with 503,
    /// unless the queue is empty. Default 256: rows alone let a queue of 1024 resnet18 rows pin ~600 MB.
    /// </summary>
    public int MaxQueueMb { get; init; } = DefaultMaxQueueMb;

    /// <summary>What the batcher does past capacity (config.json "overload"); default: deadline.</summary>
    public OverloadSettings Overload { get; init; } = OverloadSettings.Default;

    /// <summary>Priority levels; a request's "priority" parameter is 1 (first) to this, 0 for the default level. Default 1.</summary>
    public int PriorityLevels { get; init; } = 1;

    /// <summary>The level of requests that send no priority (or 0). Default: the lowest, <see cref="PriorityLevels"/>.</summary>
    public int DefaultPriorityLevel { get; init; }

    /// <summary>Whether and how predictions are cached ("cache": {"enable", "ttl_seconds", "admission"}). Default off.</summary>
    public CachePolicy Cache { get; init; } = CachePolicy.Disabled;

    /// <summary>Whether and how the inputs are watched for drift ("drift": {"enable", "sample_ratio", "window", "threshold"}). Default off.</summary>
    public DriftSettings Drift { get; init; } = DriftSettings.Disabled;

    /// <summary>
    /// Triton's default_queue_policy: the timeout a request gets when it sends none (or always, without
    /// override) and what its expiry does. Default: no timeout, requests may set their own.
    /// </summary>
    public QueuePolicy QueuePolicy { get; init; } = QueuePolicy.Default;

    /// <summary>The inputs config.pbtxt declares, checked against the model at load; empty when it declares none.</summary>
    public TensorDeclaration[] Inputs { get; init; } = [];

    /// <summary>The outputs config.pbtxt declares, checked against the model at load; empty when it declares none.</summary>
    public TensorDeclaration[] Outputs { get; init; } = [];

    /// <summary>The files the settings came from, as read: a change reloads the model's versions.</summary>
    public string SourceText { get; init; } = "";
}
