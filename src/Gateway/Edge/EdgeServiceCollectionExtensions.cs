using ServingGateway.Hosting;

namespace ServingGateway.Edge;

/// <summary>Wires the edge pipeline's own settings and metrics (standalone and edge roles).</summary>
internal static class EdgeServiceCollectionExtensions
{
    /// <summary>Edge options (reloaded with the --config file, checked as at start) and the edge metrics.</summary>
    public static IServiceCollection AddEdgePipeline(this IServiceCollection services, IConfiguration configuration, GatewayRole role)
    {
        ReloadableOptions.Add<EdgeOptions>(services, configuration, EdgeOptions.SectionName, o => o.Validate(role == GatewayRole.Edge));
        services.AddSingleton<EdgeMetrics>();
        return services;
    }
}
