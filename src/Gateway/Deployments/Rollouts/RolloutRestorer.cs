using ServingGateway.Inference;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// At start, before the model repository's first load and before traffic (registered as the first hosted service):
/// applies the state file's splits and makes each model with a rollout serve the versions it left off with.
/// </summary>
internal sealed class RolloutRestorer(RolloutDriver driver, ModelVersions versions) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var (model, serving) in driver.Restore())
        {
            versions.ServeFromNextLoad(model, serving);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
