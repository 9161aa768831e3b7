using Prometheus;
using ServingGateway.Auth;
using ServingGateway.Deployments;
using ServingGateway.Edge;
using ServingGateway.Inference;
using ServingGateway.Inference.Grpc;
using ServingGateway.Inference.Http;
using ServingGateway.Inference.Metrics;
using ServingGateway.Observability;
using ServingGateway.RateLimiting;
using ServingGateway.Routing;

namespace ServingGateway.Hosting;

/// <summary>
/// The request pipeline of each role (ARCHITECTURE.md): JSON errors outermost, then drain, routing,
/// authentication and rate limits, and last the node endpoints in process or YARP forwarding to nodes.
/// </summary>
internal static class GatewayPipeline
{
    /// <summary>The middleware in front of the endpoints, in order.</summary>
    public static WebApplication UseGatewayPipeline(this WebApplication app, GatewayRole role)
    {
        app.UseRequestSpan();
        app.UseJsonErrors();
        if (role != GatewayRole.Edge)
        {
            app.UseShutdownDrain();
        }

        // Authorization, rate limits and routing read the endpoint the router selected: routing comes first.
        app.UseRouting();

        // A gRPC request's model is inside its message: read into the route value before anything reads that.
        app.UseMiddleware<GrpcModelNameMiddleware>();
        if (role == GatewayRole.Node)
        {
            app.UseMiddleware<NodeKeyMiddleware>();
        }
        else
        {
            app.UseMiddleware<ApiKeyMiddleware>();
            app.UseMiddleware<RateLimitMiddleware>();
            app.UseDeployments(role);
        }

        return app;
    }

    /// <summary>The endpoints: forwarding and the edge's own on an edge, the node's in process otherwise; /metrics and /status on every role.</summary>
    /// <exception cref="StartupException">An endpoint has no role to require.</exception>
    public static WebApplication MapGatewayEndpoints(this WebApplication app, GatewayRole role)
    {
        if (role == GatewayRole.Edge)
        {
            app.MapEdgeEndpoints();
            app.MapMetrics("/metrics", app.Services.GetRequiredService<EdgeMetrics>().Registry).WithMetadata(MetricsEndpointMetadata.Instance);
            app.MapNodeForwarding();
        }
        else
        {
            app.UseMiddleware<ServedByMiddleware>();
            var group = app.MapGroup("");
            group.MapInferenceEndpoints();
            ((IEndpointConventionBuilder)group).Add(NodeEndpointRoles.Attach);
            app.MapInferenceGrpc(NodeEndpointRoles.Attach);
            app.MapMetrics("/metrics", app.Services.GetRequiredService<NodeMetrics>().Registry).WithMetadata(MetricsEndpointMetadata.Instance);
        }

        app.MapDeploymentEndpoints(role);
        app.MapTraceEndpoints();
        app.MapStatusPage(role);
        if (NodeEndpointRoles.MissingRoles(((IEndpointRouteBuilder)app).DataSources).ToList() is { Count: > 0 } missing)
        {
            throw new StartupException("ServingGateway: " + string.Join(Environment.NewLine + "ServingGateway: ", missing));
        }

        return app;
    }
}
