using System.Diagnostics;

namespace ServingGateway.Inference.Serving;

/// <summary>
/// The node's spans (OpenTelemetry through <see cref="ActivitySource"/>), all started by <see cref="InferencePipeline"/>:
/// <c>cache lookup</c> (the byte-identical response cache, then the prediction cache) and <c>encode</c>, children of
/// the request's own span (started by the host's first middleware, only for a request that is recorded), which the
/// pipeline tags with the model and version and marks on failure. The batcher's queue wait and batch run are
/// <c>ServingGateway.Batching</c>'s. Without a listener, or for a request not recorded, starting one costs a check.
/// </summary>
public static class InferenceTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> name to subscribe to.</summary>
    public const string SourceName = "ServingGateway.Inference";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// Starts span <paramref name="name"/> of <paramref name="source"/> as a child of the current span when that one is
    /// recorded; else nothing (null). A span started with no recorded parent would be made anyway, unrecorded, only to
    /// carry the context on: a request that is not recorded has no current span to carry.
    /// </summary>
    public static Activity? StartChild(this ActivitySource source, string name) =>
        Activity.Current is { Recorded: true } ? source.StartActivity(name) : null;

    /// <summary>
    /// The span of the request being served (the current one, started by the host's first middleware) when a listener records it, else
    /// null: what the pipeline tags instead of starting a span of its own that would cover the same time.
    /// </summary>
    internal static Activity? RequestSpan() =>
        Activity.Current is { Recorded: true, IsAllDataRequested: true } current && current.Source.HasListeners() ? current : null;
}
