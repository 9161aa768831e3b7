namespace ServingGateway.Deployments.Shadow;

/// <summary>What a shadow version answered: the status, the body and its Inference-Header-Content-Length (null when JSON only).</summary>
internal sealed record ShadowAnswer(int Status, byte[] Body, int? HeaderLength);
