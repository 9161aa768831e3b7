namespace ServingGateway.Deployments.Shadow;

/// <summary>An infer answer that <see cref="InferAnswerReader"/> cannot read: not the response format of the Open Inference Protocol.</summary>
internal sealed class InferAnswerFormatException(string message) : Exception(message);
