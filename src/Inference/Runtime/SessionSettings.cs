namespace ServingGateway.Inference.Runtime;

/// <summary>How to build the ONNX Runtime sessions of one model version.</summary>
/// <param name="ExecutionProvider">auto, cpu or cuda.</param>
/// <param name="DeviceId">The CUDA device ordinal.</param>
/// <param name="IntraOpThreads">Intra-op threads; 0 lets ONNX Runtime choose.</param>
/// <param name="InterOpThreads">Inter-op threads; 0 lets ONNX Runtime choose.</param>
internal readonly record struct SessionSettings(ExecutionProviderKind ExecutionProvider, int DeviceId, int IntraOpThreads, int InterOpThreads);
