using ServingGateway.Inference;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// At start, before the model repository's first load and before traffic (registered as the first hosted service):
/// applies the stored splits and, on a standalone server, makes each model with a rollout serve the versions it left
/// off with (an edge's nodes keep serving theirs; the driving edge loads them again when it resumes the rollout).
/// </summary>
internal sealed class RolloutRestorer(RolloutDriver driver, IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var serving = driver.Restore();
        if (services.GetService<ModelVersions>() is { } versions)
        {
            foreach (var (model, versionsToServe) in serving)
            {
                versions.ServeFromNextLoad(model, versionsToServe);
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
