using Microsoft.Extensions.DependencyInjection.Extensions;
using ServingGateway.Deployments.Fleet;
using ServingGateway.Deployments.Rollouts;
using ServingGateway.Deployments.Shadow;
using ServingGateway.Deployments.Versions;
using ServingGateway.Hosting;

namespace ServingGateway.Deployments;

/// <summary>
/// Deployments (issue 13): version uploads, traffic splits, rollouts. Standalone and edge alike (a node only serves
/// what it is told to load). Each part registers and maps itself here.
/// </summary>
internal static class DeploymentsServiceCollectionExtensions
{
    /// <summary>
    /// The deployments' services for <paramref name="role"/> (on a node: version uploads only); the rollouts' state
    /// lives in <paramref name="redis"/> when set (shared by every edge), else in a file.
    /// </summary>
    public static IServiceCollection AddDeployments(this IServiceCollection services, IConfiguration configuration, GatewayRole role, string? redis)
    {
        // Version uploads on every role: stored here (standalone, node: what its edges send it) or sent to every node (edge).
        ReloadableOptions.Add<VersionUploadOptions>(services, configuration, VersionUploadOptions.SectionName, o => o.Validate());
        if (role == GatewayRole.Edge)
        {
            services.AddSingleton<NodeUploadFanOut>();
            services.AddSingleton<IVersionUploads>(sp => sp.GetRequiredService<NodeUploadFanOut>());
        }
        else
        {
            services.AddSingleton<IVersionUploads, VersionStore>();
        }

        if (role == GatewayRole.Node)
        {
            return services;
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<TrafficSplits>();
        services.AddSingleton<ITrafficSplits>(sp => sp.GetRequiredService<TrafficSplits>());
        services.AddSingleton<RolloutEvidence>();
        services.AddSingleton<IRolloutEvidence>(sp => sp.GetRequiredService<RolloutEvidence>());
        services.AddSingleton<IShadowResults>(sp => sp.GetRequiredService<RolloutEvidence>());
        if (role == GatewayRole.Standalone)
        {
            services.AddSingleton<IVersionFleet>(sp => new LocalVersionFleet(sp.GetRequiredService<Inference.ModelVersions>()));
        }

        if (role == GatewayRole.Edge)
        {
            services.AddSingleton<NodeFanOut>();
            services.AddSingleton<VersionCatchUp>();
            services.AddHostedService(sp => sp.GetRequiredService<VersionCatchUp>());
            services.AddSingleton<IVersionFleet, EdgeVersionFleet>();
        }

        services.AddRollouts(configuration, role, redis);
        services.AddSingleton<DeploymentsStatus>();

        services.AddShadowMirroring(configuration, role);
        return services;
    }

    /// <summary>The deployments' middleware, after authentication and rate limits (none on a node).</summary>
    public static WebApplication UseDeployments(this WebApplication app, GatewayRole role)
    {
        if (role != GatewayRole.Node)
        {
            app.UseMiddleware<DeploymentsMiddleware>();
        }

        return app;
    }

    /// <summary>The /admin endpoints, each requiring the deploy role (on a node, where only the version endpoints are mapped: the node key).</summary>
    public static IEndpointRouteBuilder MapDeploymentEndpoints(this IEndpointRouteBuilder endpoints, GatewayRole role)
    {
        // Every role: an edge sends uploads on to each node, which stores them (node key).
        endpoints.MapVersionEndpoints(role);
        if (role == GatewayRole.Node)
        {
            return endpoints;
        }

        endpoints.MapRolloutEndpoints();
        if (role == GatewayRole.Edge)
        {
            endpoints.MapEdgeRepositoryEndpoints();
        }

        return endpoints;
    }
}
