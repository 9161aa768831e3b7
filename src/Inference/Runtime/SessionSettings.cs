namespace ServingGateway.Inference.Runtime;

/// <summary>How to build the ONNX Runtime sessions of one model version.</summary>
/// <param name="ExecutionProvider">auto, cpu or cuda.</param>
/// <param name="DeviceId">The CUDA device ordinal when <paramref name="Gpus"/> is empty.</param>
/// <param name="IntraOpThreads">Intra-op threads; 0 lets ONNX Runtime choose.</param>
/// <param name="InterOpThreads">Inter-op threads; 0 lets ONNX Runtime choose.</param>
/// <param name="Gpus">The CUDA device of each instance in turn (instance_group.gpus), round-robin; empty: all on <paramref name="DeviceId"/>.</param>
internal readonly record struct SessionSettings(ExecutionProviderKind ExecutionProvider, int DeviceId, int IntraOpThreads, int InterOpThreads, int[]? Gpus = null)
{
    /// <summary>The CUDA device of instance <paramref name="instance"/> (0-based): the instances go round the listed GPUs.</summary>
    public int DeviceOf(int instance) => Gpus is { Length: > 0 } gpus ? gpus[instance % gpus.Length] : DeviceId;
}
