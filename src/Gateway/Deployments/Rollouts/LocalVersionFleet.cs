using ServingGateway.Inference;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>The standalone role's fleet: this process's model repository (<see cref="ModelVersions"/>).</summary>
internal sealed class LocalVersionFleet(ModelVersions versions) : IVersionFleet
{
    public Task ServeAsync(string model, IReadOnlyList<long> versionsToServe, CancellationToken cancellationToken) =>
        versions.ServeAsync(model, versionsToServe, cancellationToken);

    public IReadOnlyList<long>? Stored(string model) => versions.OnDisk(model);

    public Task<IReadOnlyList<long>> ReadyAsync(string model, CancellationToken cancellationToken) =>
        Task.FromResult(versions.Ready(model));
}
