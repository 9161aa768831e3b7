using System.Diagnostics;

namespace ServingGateway.Inference.Serving;

/// <summary>
/// The node's spans (OpenTelemetry through <see cref="ActivitySource"/>), all started by <see cref="InferencePipeline"/>:
/// <c>infer</c> (one request, from resolving its version until its reply is ready), <c>cache lookup</c> (the
/// byte-identical response cache, then the prediction cache) and <c>encode</c>. The batcher's queue wait and batch
/// run are <c>ServingGateway.Batching</c>'s. Without a listener, or for a request not sampled, starting one costs a check.
/// </summary>
public static class InferenceTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> name to subscribe to.</summary>
    public const string SourceName = "ServingGateway.Inference";

    internal static readonly ActivitySource Source = new(SourceName);
}
