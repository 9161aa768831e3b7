namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// The bounds a step's window must keep for the rollout to go on (null: not checked). <paramref name="MinRequests"/>:
/// the new version's answers (blue-green: its shadow runs) a window needs before it is judged.
/// </summary>
internal sealed record RolloutAnalysis(
    double? MaxErrorRate, double? MaxP99Ms, double? MaxP99Ratio, long MinRequests, double? MaxOutputDivergence);
