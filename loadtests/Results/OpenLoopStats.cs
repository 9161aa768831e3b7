namespace ServingGateway.LoadTool.Results;

/// <summary>
/// How well an open-loop run kept its schedule: requests scheduled in the measured part, those sent
/// more than <see cref="LateThresholdMs"/> after their intended time, how often the in-flight cap
/// held sends back, and the most requests in flight at once.
/// </summary>
internal sealed record OpenLoopStats(long Scheduled, long LateSends, long CapHits, int PeakInFlight)
{
    /// <summary>A send this much after its intended time counts as late.</summary>
    public const double LateThresholdMs = 1.0;
}
