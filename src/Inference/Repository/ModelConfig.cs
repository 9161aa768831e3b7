namespace ServingGateway.Inference.Repository;

/// <summary>
/// A model's settings: its <c>config.json</c> over the node's defaults.
/// </summary>
internal sealed class ModelConfig
{
    /// <summary>Triton's max_batch_size; null when config.json leaves it to be derived from the model.</summary>
    public int? MaxBatchSize { get; init; }

    /// <summary>ONNX Runtime sessions per version.</summary>
    public int Instances { get; init; }

    /// <summary>Where the sessions run.</summary>
    public ExecutionProviderKind ExecutionProvider { get; init; }

    /// <summary>The CUDA device ordinal.</summary>
    public int DeviceId { get; init; }

    /// <summary>ONNX Runtime intra-op threads per session; 0 lets ONNX Runtime choose.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>ONNX Runtime inter-op threads per session; 0 lets ONNX Runtime choose.</summary>
    public int InterOpThreads { get; init; }

    /// <summary>Which versions to serve.</summary>
    public VersionPolicy VersionPolicy { get; init; } = VersionPolicy.Default;
}
