namespace ServingGateway.Deployments.Shadow;

/// <summary>
/// A caller's infer request as mirrored to a shadow version: its body and the two headers that say how to read it.
/// <paramref name="Body"/> is the shadow's own copy (it outlives the caller's request).
/// </summary>
/// <param name="Model">The model the caller's request named.</param>
/// <param name="Version">The shadow version it is run on.</param>
/// <param name="Body">The request body, as the caller sent it.</param>
/// <param name="ContentType">The caller's Content-Type, if any.</param>
/// <param name="HeaderLength">The caller's Inference-Header-Content-Length, verbatim, if any (the node checks it).</param>
internal sealed record ShadowRequest(string Model, long Version, ReadOnlyMemory<byte> Body, string? ContentType, string? HeaderLength);
