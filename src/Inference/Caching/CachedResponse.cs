namespace ServingGateway.Inference.Caching;

/// <summary>
/// A whole infer response kept for a byte-identical request: what a repeated request costs is then a hash
/// of its body and a write, not a parse, a lookup and an encoding (docs/CACHING.md).
/// </summary>
/// <param name="Body">The response body: the JSON, then any binary outputs.</param>
/// <param name="HeaderLength">The JSON's length when the body has binary outputs (Inference-Header-Content-Length), else null.</param>
internal sealed record CachedResponse(byte[] Body, int? HeaderLength)
{
    /// <summary>The managed memory the response takes: this object and its body array.</summary>
    public long Footprint => ManagedLayout.Object(2) + ManagedLayout.Array(Body.Length, 1);
}
