namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// A rollout as asked for (<c>POST /admin/models/{m}/rollouts</c>, validated by <see cref="RolloutRequest"/>): the
/// version, the strategy, the steps in percent (canary; ending at 100), each step's length, the analysis and the share of
/// requests mirrored to the new version when it is a shadow (blue-green; canary with max_output_divergence).
/// </summary>
internal sealed record RolloutSpec(
    long Version, RolloutStrategy Strategy, IReadOnlyList<int> Steps, int StepSeconds, RolloutAnalysis Analysis, double SampleRatio)
{
    /// <summary>Whether the new version is also a shadow (its answers compared with the serving version's).</summary>
    public bool Shadowed => Strategy == RolloutStrategy.BlueGreen || Analysis.MaxOutputDivergence is not null;
}
