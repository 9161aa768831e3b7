using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Runtime;

/// <summary>
/// Runtime: runs a model version's graph on one device, one call at a time (Triton's "model instance").
/// ONNX Runtime on CPU (or CUDA through the provider) is <see cref="OnnxModelInstance"/>; a CUDA executor with
/// IOBinding (issue 14) is the next. The batch runner receives executors and never sees the engine behind them.
/// </summary>
/// <remarks>Ownership: whoever creates an executor disposes it (a <c>ModelHost</c>, when its last reference goes).</remarks>
internal interface IModelExecutor : IDisposable
{
    /// <summary>
    /// Runs the model on <paramref name="inputs"/> (one per model input, in model order) and returns the
    /// <paramref name="outputs"/> asked for, in that order. The caller owns the returned tensors.
    /// </summary>
    /// <exception cref="InferenceException">400 when the engine refuses these inputs.</exception>
    PooledTensor[] Run(PooledTensor[] inputs, RequestedOutput[] outputs, long batchSize);
}
