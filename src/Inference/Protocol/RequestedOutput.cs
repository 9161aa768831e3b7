namespace ServingGateway.Inference.Protocol;

/// <summary>An output the caller asked for and whether it is returned as binary tensor data.</summary>
/// <param name="Index">The output's index in the model signature.</param>
/// <param name="Binary">True to return it through the binary tensor data extension.</param>
internal readonly record struct RequestedOutput(int Index, bool Binary);
