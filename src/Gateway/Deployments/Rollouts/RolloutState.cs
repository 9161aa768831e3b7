namespace ServingGateway.Deployments.Rollouts;

/// <summary>Where a rollout stands; the last three are final.</summary>
internal enum RolloutState
{
    /// <summary>The new version is loading and warming beside the current one; all traffic on the current.</summary>
    Loading,

    /// <summary>A step is live and its window is being analysed.</summary>
    Analyzing,

    /// <summary>Held at its step by an operator: the split stays, no analysis decides.</summary>
    Paused,

    /// <summary>The new version has all the traffic and the old one is unloaded.</summary>
    Promoted,

    /// <summary>An analysis failed or an operator rolled back: all traffic on the old version, the new one unloaded.</summary>
    RolledBack,

    /// <summary>The new version could not be loaded: all traffic stays on the old version.</summary>
    Failed,
}
