using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Catalog;

/// <summary>An input or output as config.pbtxt declares it (Triton's ModelInput/ModelOutput).</summary>
/// <param name="Name">The tensor's name in the model.</param>
/// <param name="DataType">Its element type (TYPE_FP32 etc.).</param>
/// <param name="Dims">Its shape without the batch dimension when max_batch_size &gt; 0; -1 for a dynamic dimension.</param>
/// <param name="Line">The line of the declaration in config.pbtxt, for error messages.</param>
internal sealed record TensorDeclaration(string Name, TensorDataType DataType, long[] Dims, int Line);
