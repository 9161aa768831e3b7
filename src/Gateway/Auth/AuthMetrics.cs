using Prometheus;
using ServingGateway.Edge;
using ServingGateway.Inference.Metrics;

namespace ServingGateway.Auth;

/// <summary>
/// Refused requests, counted by status (401 unauthenticated, 403 forbidden) and nothing else: never by key,
/// path or caller. In the node's registry (node, standalone) or the edge's.
/// </summary>
internal sealed class AuthMetrics
{
    private readonly Counter.Child _unauthenticated;
    private readonly Counter.Child _forbidden;

    public AuthMetrics(IServiceProvider services)
    {
        var registry = services.GetService<NodeMetrics>()?.Registry ?? services.GetRequiredService<EdgeMetrics>().Registry;
        var refused = MetricFactories.For(registry)
            .CreateCounter("sg_auth_refused_total", "Requests refused by authentication (status 401: no or unknown key) or authorization (403: the key lacks the endpoint's role).", ["status"]);
        _unauthenticated = refused.WithLabels("401");
        _forbidden = refused.WithLabels("403");
    }

    public void Refused(int status) => (status == StatusCodes.Status403Forbidden ? _forbidden : _unauthenticated).Inc();
}
