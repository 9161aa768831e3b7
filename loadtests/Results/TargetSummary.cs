namespace ServingGateway.LoadTool.Results;

/// <summary>The results of one model of a run (a scenario mixes several).</summary>
internal sealed record TargetSummary(string Model, long Finished, long Errors, LatencyDistribution Latency);
