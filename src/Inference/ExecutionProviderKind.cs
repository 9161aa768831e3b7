namespace ServingGateway.Inference;

/// <summary>Where a model's ONNX Runtime sessions run.</summary>
public enum ExecutionProviderKind
{
    /// <summary>CUDA when the build and the machine have it, else CPU with one warning.</summary>
    Auto,

    /// <summary>CPU only.</summary>
    Cpu,

    /// <summary>CUDA only: the model fails to load, with the reason, when CUDA is missing.</summary>
    Cuda,
}
