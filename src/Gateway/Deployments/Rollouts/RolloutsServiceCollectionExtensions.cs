using Microsoft.Extensions.Options;
using ServingGateway.Inference;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>Wires the rollouts of the standalone role: the controller's driver, its state file, the local fleet and the endpoints.</summary>
internal static class RolloutsServiceCollectionExtensions
{
    /// <summary>
    /// The rollouts, with <see cref="RolloutOptions"/> bound from <c>Deployments</c> and validated at start (every error
    /// listed); the default state file lies beside the model repository folder.
    /// </summary>
    public static IServiceCollection AddRollouts(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RolloutOptions>()
            .Bind(configuration.GetSection(RolloutOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RolloutOptions>, RolloutOptionsValidator>();
        services.AddSingleton(sp => new RolloutStore(StateFile(
            sp.GetRequiredService<IOptions<RolloutOptions>>().Value, sp.GetRequiredService<ModelVersions>().Root)));
        services.AddSingleton<IVersionFleet>(sp => new LocalVersionFleet(sp.GetRequiredService<ModelVersions>()));
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<RolloutDriver>(sp, (Func<string, IReadOnlyList<long>>)sp.GetRequiredService<ModelVersions>().OnDisk));
        services.AddHostedService(sp => sp.GetRequiredService<RolloutDriver>());
        services.AddSingleton<IRolloutStatusSource, RolloutStatusSource>();

        // First of all hosted services: the splits apply, and the versions a rollout left off with are named, before
        // the repository's first load (RepositoryLoader) and before the server takes traffic.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, RolloutRestorer>());
        return services;
    }

    /// <summary><see cref="RolloutOptions.StateFile"/>, else <c>deployments.json</c> beside the repository folder.</summary>
    public static string StateFile(RolloutOptions options, string repositoryFolder) =>
        options.StateFile is { Length: > 0 } file
            ? Path.GetFullPath(file)
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(repositoryFolder).TrimEnd(Path.DirectorySeparatorChar)) ?? ".", "deployments.json");

    private sealed class RolloutOptionsValidator : IValidateOptions<RolloutOptions>
    {
        public ValidateOptionsResult Validate(string? name, RolloutOptions options)
        {
            var errors = options.Validate().ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
