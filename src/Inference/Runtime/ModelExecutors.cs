using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Runtime;

/// <summary>The executors of one model version, created together, and what they were found to be.</summary>
/// <param name="Executors">One per instance; the receiver owns and disposes them.</param>
/// <param name="Signature">Inputs, outputs and max_batch_size, read from the model.</param>
/// <param name="Provider">Where they run: "cpu" or "cuda".</param>
internal sealed record ModelExecutors(IModelExecutor[] Executors, ModelSignature Signature, string Provider);
