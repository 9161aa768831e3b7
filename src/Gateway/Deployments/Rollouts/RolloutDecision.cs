namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// One thing a rollout did, automatically (<paramref name="By"/> <see cref="RolloutDecision.Controller"/>) or for an
/// operator (their key's name): when, what (<c>start</c>, <c>loaded</c>, <c>load_failed</c>, <c>step</c>,
/// <c>extend</c>, <c>promote</c>, <c>rollback</c>, <c>pause</c>, <c>resume</c>, <c>resume_after_restart</c>), the step's
/// percent after it, why, and the window's readings it was decided on (null when none was read).
/// </summary>
internal sealed record RolloutDecision(
    DateTimeOffset Time, string By, string Action, int Percent, string Reason, VersionEvidence? New, VersionEvidence? Current)
{
    /// <summary>The caller name of automatic decisions.</summary>
    public const string Controller = "rollout-controller";
}
