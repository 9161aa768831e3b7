using ServingGateway.Edge;
using ServingGateway.Hosting;
using ServingGateway.Inference.Metrics;

namespace ServingGateway.Deployments.Shadow;

/// <summary>Wires shadow mirroring: the service the deployments middleware offers requests to, its runner and metrics.</summary>
internal static class ShadowServiceCollectionExtensions
{
    /// <summary>
    /// Shadow mirroring for <paramref name="role"/>: standalone runs shadows in process, an edge sends them to a node
    /// (none on a node: it only serves what it is sent).
    /// </summary>
    public static IServiceCollection AddShadowMirroring(this IServiceCollection services, IConfiguration configuration, GatewayRole role)
    {
        if (role == GatewayRole.Node)
        {
            return services;
        }

        // Checked with every other section at start (GatewaySettings): a bad value never reaches here.
        services.AddOptions<ShadowOptions>().Bind(configuration.GetSection(ShadowOptions.SectionName));
        services.AddSingleton(sp => new ShadowMetrics(sp.GetService<NodeMetrics>()?.Registry ?? sp.GetRequiredService<EdgeMetrics>().Registry));
        if (role == GatewayRole.Edge)
        {
            services.AddSingleton<IShadowRunner, HttpShadowRunner>();
        }
        else
        {
            services.AddSingleton<IShadowRunner, InProcessShadowRunner>();
        }

        services.AddSingleton<ShadowMirroring>();
        services.AddHostedService(sp => sp.GetRequiredService<ShadowMirroring>());
        return services;
    }
}
