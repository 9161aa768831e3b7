using Microsoft.AspNetCore.DataProtection;
using ServingGateway.Auth;
using ServingGateway.Deployments;
using ServingGateway.Edge;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Transforms;

namespace ServingGateway.Routing;

/// <summary>Wires the edge's forwarding to nodes: YARP with consistent hashing, discovery, retries and passive health.</summary>
internal static class RoutingServiceCollectionExtensions
{
    /// <summary>Forwards node endpoints to <paramref name="edge"/>'s nodes (Edge:Nodes or Edge:NodesDns).</summary>
    public static IServiceCollection AddNodeForwarding(this IServiceCollection services, EdgeOptions edge)
    {
        services.AddSingleton<ILoadBalancingPolicy, ConsistentHashLoadBalancingPolicy>();
        services.AddSingleton<RetryOnConnectFailure>();
        services.AddSingleton<NodeSaturation>();
        services.AddSingleton<IForwarderHttpClientFactory, NodeCertificates>();
        services.AddSingleton<IProbingRequestFactory, NodeProbes>();
        services.AddReverseProxy()
            .LoadFromMemory(NodeDiscovery.Routes, NodeDiscovery.Clusters([.. edge.Nodes.Select(n => n.TrimEnd('/'))], edge))
            .AddTransforms(context =>
            {
                // The client's key stays at the edge; the node sees the edge's own key (Edge:NodeKey).
                foreach (var header in ApiKeyMiddleware.KeyHeaders)
                {
                    context.AddRequestHeaderRemove(header);
                }

                if (edge.NodeKey is { Length: > 0 } nodeKey)
                {
                    context.AddRequestHeader("Authorization", "Bearer " + nodeKey, append: false);
                }

                // The version the deployments middleware chose (split or pin) is reached by its own path on the node.
                context.AddRequestTransform(static transform =>
                {
                    if (transform.HttpContext.Features.Get<DeploymentChoice>() is { } choice)
                    {
                        transform.Path = choice.VersionedPath;
                    }

                    return ValueTask.CompletedTask;
                });
            });
        services.AddHostedService<NodeDiscovery>();

        // Failures older than the window stop counting, so a node that came back is not kept out by them.
        services.Configure<TransportFailureRateHealthPolicyOptions>(o => o.DetectionWindowSize = TimeSpan.FromSeconds(edge.PassiveWindowSeconds));

        // YARP's session affinity (unused: requests are routed by model) would keep data-protection keys.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        return services;
    }

    /// <summary>Maps the forwarded node endpoints, each requiring the role of what it forwards to.</summary>
    public static IEndpointRouteBuilder MapNodeForwarding(this IEndpointRouteBuilder endpoints)
    {
        var retry = endpoints.ServiceProvider.GetRequiredService<RetryOnConnectFailure>();
        endpoints.MapReverseProxy(pipeline =>
        {
            pipeline.Use(retry.InvokeAsync);
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        }).ConfigureEndpoints((endpoint, route) =>
        {
            endpoint.RequireRole(NodeDiscovery.RoleOf(route));
            if (NodeDiscovery.ModelFieldOf(route) is { } field)
            {
                endpoint.WithMetadata(field);
            }
        });
        return endpoints;
    }
}
