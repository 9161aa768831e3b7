using System.Diagnostics;

namespace ServingGateway.Observability;

/// <summary>
/// The edge pipeline's spans: <c>auth</c> (the API key decision), <c>rate limit</c> (the token bucket) and <c>route</c>
/// (the consistent-hash pick); YARP's own source (<see cref="YarpSourceName"/>) adds the forward. Without a listener,
/// or for a request not sampled, starting one costs a check.
/// </summary>
internal static class GatewayTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> name to subscribe to.</summary>
    public const string SourceName = "ServingGateway.Edge";

    /// <summary>The source of every request's own span (<see cref="TracingServiceCollectionExtensions.UseRequestSpan"/>).</summary>
    public const string RequestSourceName = "ServingGateway.Requests";

    /// <summary>YARP's source: a span per forwarded request.</summary>
    public const string YarpSourceName = "Yarp.ReverseProxy";

    public static readonly ActivitySource Source = new(SourceName);

    public static readonly ActivitySource RequestSource = new(RequestSourceName);
}
