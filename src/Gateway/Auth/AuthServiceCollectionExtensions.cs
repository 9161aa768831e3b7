using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ServingGateway.Hosting;

namespace ServingGateway.Auth;

/// <summary>Wires authentication and authorization: node keys and the audit log (every role), API keys (standalone, edge).</summary>
internal static class AuthServiceCollectionExtensions
{
    /// <summary>
    /// Node keys (reloaded with the --config file, checked in the node role), the listener check, the audit log
    /// and the refusal metrics; with <paramref name="apiKeys"/>, also the API keys callers send (standalone, edge).
    /// </summary>
    public static IServiceCollection AddGatewayAuth(this IServiceCollection services, IConfiguration configuration, GatewayRole role, AuditOptions audit, bool apiKeys)
    {
        // Node keys reload with the --config file, through the same checks as at start (role node).
        ReloadableOptions.Add<NodeOptions>(services, configuration, NodeOptions.SectionName, o => role == GatewayRole.Node ? o.Validate() : []);
        services.AddSingleton(Options.Create(audit));
        services.AddSingleton<ListenerScope>();
        services.AddSingleton<AuthMetrics>();
        services.AddSingleton<AuditLog>();
        services.AddHostedService(sp => ActivatorUtilities.CreateInstance<ListenerCheck>(sp, role));
        services.TryAddSingleton(TimeProvider.System);
        if (apiKeys)
        {
            // Reloaded with the --config file, through the same checks as at start; an invalid reload is refused.
            ReloadableOptions.Add<AuthOptions>(services, configuration, AuthOptions.SectionName, o => o.Validate());
            services.AddSingleton(new ApiKeyMiddleware.AnonymousDefault(role == GatewayRole.Standalone));
        }

        return services;
    }
}
