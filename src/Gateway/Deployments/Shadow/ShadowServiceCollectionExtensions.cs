using ServingGateway.Edge;
using ServingGateway.Hosting;
using ServingGateway.Inference.Metrics;

namespace ServingGateway.Deployments.Shadow;

/// <summary>Wires shadow mirroring: the service the deployments middleware offers requests to, its runner and metrics.</summary>
internal static class ShadowServiceCollectionExtensions
{
    /// <summary>
    /// Shadow mirroring for <paramref name="role"/>: standalone runs shadows in process. An edge has none yet (its
    /// runner would send them to a node); the deployments middleware mirrors nothing where no <see cref="ShadowMirroring"/> is registered.
    /// </summary>
    public static IServiceCollection AddShadowMirroring(this IServiceCollection services, IConfiguration configuration, GatewayRole role)
    {
        if (role != GatewayRole.Standalone)
        {
            return services;
        }

        // Checked with every other section at start (GatewaySettings): a bad value never reaches here.
        services.AddOptions<ShadowOptions>().Bind(configuration.GetSection(ShadowOptions.SectionName));
        services.AddSingleton(sp => new ShadowMetrics(sp.GetService<NodeMetrics>()?.Registry ?? sp.GetRequiredService<EdgeMetrics>().Registry));
        services.AddSingleton<IShadowRunner, InProcessShadowRunner>();
        services.AddSingleton<ShadowMirroring>();
        services.AddHostedService(sp => sp.GetRequiredService<ShadowMirroring>());
        return services;
    }
}
