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
    /// The deployments' services for <paramref name="role"/> (none on a node); the rollouts' state lives in
    /// <paramref name="redis"/> when set (shared by every edge), else in a file.
    /// </summary>
    public static IServiceCollection AddDeployments(this IServiceCollection services, IConfiguration configuration, GatewayRole role, string? redis)
    {
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
        ReloadableOptions.Add<VersionUploadOptions>(services, configuration, VersionUploadOptions.SectionName, o => o.Validate());
        if (role == GatewayRole.Standalone)
        {
            services.AddSingleton<VersionStore>();
            services.AddSingleton<IVersionFleet>(sp => new LocalVersionFleet(sp.GetRequiredService<Inference.ModelVersions>()));
        }

        if (role == GatewayRole.Edge)
        {
            services.AddSingleton<NodeFanOut>();
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

    /// <summary>The /admin endpoints, each requiring the deploy role (none on a node).</summary>
    public static IEndpointRouteBuilder MapDeploymentEndpoints(this IEndpointRouteBuilder endpoints, GatewayRole role)
    {
        if (role == GatewayRole.Node)
        {
            return endpoints;
        }

        endpoints.MapRolloutEndpoints();
        if (role == GatewayRole.Standalone)
        {
            // Versions are stored in this process's model repository; through an edge they go to each node (docs/OPERATIONS.md).
            endpoints.MapVersionEndpoints();
        }

        if (role == GatewayRole.Edge)
        {
            endpoints.MapEdgeRepositoryEndpoints();
        }

        return endpoints;
    }
}
