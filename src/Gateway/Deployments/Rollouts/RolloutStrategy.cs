namespace ServingGateway.Deployments.Rollouts;

/// <summary>How a rollout moves traffic to the new version.</summary>
internal enum RolloutStrategy
{
    /// <summary>Walk the steps (percent of traffic to the new version), analysing each.</summary>
    Canary,

    /// <summary>Mirror a sample of requests to the new version (0% of answers) for one window, then 0 -> 100 at once.</summary>
    BlueGreen,
}
