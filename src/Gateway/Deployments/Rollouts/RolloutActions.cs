namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// What the driver does after a <see cref="Rollout"/> call, in this order: set the split (null: keep it), start the
/// model's evidence window, then make the fleet serve exactly <paramref name="Serve"/> (null: leave it); when
/// <paramref name="Loading"/>, the rollout waits for that serve (<see cref="Rollout.Loaded"/> or
/// <see cref="Rollout.LoadFailed"/>). The decision is already in the rollout's list; the driver audits and persists it.
/// </summary>
internal sealed record RolloutActions(TrafficSplit? Split, bool StartWindow, IReadOnlyList<long>? Serve, RolloutDecision? Decision, bool Loading = false)
{
    /// <summary>Nothing to do.</summary>
    public static RolloutActions None { get; } = new(null, false, null, null);
}
