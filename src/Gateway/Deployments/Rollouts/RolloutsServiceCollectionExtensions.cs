using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using ServingGateway.Edge;
using ServingGateway.Hosting;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference;
using ServingGateway.Inference.Common;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// Wires the rollouts: the controller's driver, where its state lives (a file, or Redis shared by every edge, with
/// the lease that makes one process drive), the fleet it drives (set by the role) and the endpoints.
/// </summary>
internal static class RolloutsServiceCollectionExtensions
{
    /// <summary>
    /// The rollouts, with <see cref="RolloutOptions"/> bound from <c>Deployments</c> and validated at start (every error
    /// listed). The state lives in <paramref name="redis"/> when set, else in the state file (default beside the model
    /// repository folder on a standalone server, in the working folder on an edge). The role registers the
    /// <see cref="IVersionFleet"/>.
    /// </summary>
    public static IServiceCollection AddRollouts(this IServiceCollection services, IConfiguration configuration, GatewayRole role, string? redis)
    {
        services.AddOptions<RolloutOptions>()
            .Bind(configuration.GetSection(RolloutOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RolloutOptions>, RolloutOptionsValidator>();
        if (string.IsNullOrWhiteSpace(redis))
        {
            services.AddSingleton<IRolloutLease, LocalRolloutLease>();
            services.AddSingleton<IRolloutStore>(sp => new RolloutStore(StateFile(
                sp.GetRequiredService<IOptions<RolloutOptions>>().Value,
                role == GatewayRole.Standalone ? sp.GetRequiredService<ModelVersions>().Root : null)));
        }
        else
        {
            services.AddKeyedSingleton<StackExchange.Redis.IConnectionMultiplexer>(nameof(RolloutDriver), (_, _) => RedisConnections.Connect(redis));
            services.AddSingleton<IRolloutLease>(sp =>
            {
                var options = sp.GetRequiredService<IOptions<RolloutOptions>>().Value;
                return new RedisRolloutLease(
                    sp.GetRequiredKeyedService<StackExchange.Redis.IConnectionMultiplexer>(nameof(RolloutDriver)), redis,
                    AdvertisedUrl(options, sp.GetRequiredService<IServer>(), sp.GetRequiredService<IHostApplicationLifetime>()),
                    TimeSpan.FromSeconds(options.LeaseSeconds), sp.GetRequiredService<ILogger<RedisRolloutLease>>());
            });
            services.AddSingleton<IRolloutStore>(sp => new RedisRolloutStore(
                sp.GetRequiredKeyedService<StackExchange.Redis.IConnectionMultiplexer>(nameof(RolloutDriver)), redis, sp.GetRequiredService<IRolloutLease>()));
        }

        services.AddSingleton(sp => new RolloutMetrics(
            sp.GetService<NodeMetrics>()?.Registry ?? sp.GetRequiredService<EdgeMetrics>().Registry, sp.GetRequiredService<ITrafficSplits>()));
        services.AddSingleton<RolloutDriver>();
        services.AddHostedService(sp => sp.GetRequiredService<RolloutDriver>());
        services.AddSingleton<IRolloutStatusSource, RolloutStatusSource>();
        services.AddSingleton<RolloutForwarder>();

        // First of all hosted services: the splits apply, and the versions a rollout left off with are named, before
        // the repository's first load (RepositoryLoader) and before the server takes traffic.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, RolloutRestorer>());
        return services;
    }

    /// <summary>
    /// <see cref="RolloutOptions.StateFile"/>, else <c>deployments.json</c> beside the repository folder, or in the
    /// working folder when there is none (an edge).
    /// </summary>
    public static string StateFile(RolloutOptions options, string? repositoryFolder) =>
        options.StateFile is { Length: > 0 } file
            ? Path.GetFullPath(file)
            : repositoryFolder is null
                ? Path.GetFullPath("deployments.json")
                : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(repositoryFolder).TrimEnd(Path.DirectorySeparatorChar)) ?? ".", "deployments.json");

    // This process's address for the admin calls other edges forward to it: the configured one, else the first address
    // the server listens on once it does (null before), a wildcard host replaced by the machine's name.
    private static Func<string?> AdvertisedUrl(RolloutOptions options, IServer server, IHostApplicationLifetime lifetime)
    {
        if (options.AdvertisedUrl is { } configured)
        {
            return () => configured.TrimEnd('/');
        }

        return () =>
        {
            if (!lifetime.ApplicationStarted.IsCancellationRequested
                || server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() is not { } address)
            {
                return null;
            }

            var uri = new UriBuilder(address.Replace("://+:", "://0.0.0.0:", StringComparison.Ordinal).Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal));
            if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)))
            {
                uri.Host = Dns.GetHostName();
            }

            return uri.Uri.GetLeftPart(UriPartial.Authority);
        };
    }

    private sealed class RolloutOptionsValidator : IValidateOptions<RolloutOptions>
    {
        public ValidateOptionsResult Validate(string? name, RolloutOptions options)
        {
            var errors = options.Validate().ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
