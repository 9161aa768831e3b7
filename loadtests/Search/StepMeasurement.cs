namespace ServingGateway.LoadTool.Search;

/// <summary>What one step of <c>find-max-rate</c> measured (latencies in ms, rates in req/s; goodput null without an SLO).</summary>
internal sealed record StepMeasurement(double Throughput, double P50Ms, double P99Ms, double ErrorRate, long Responses, double? Goodput = null);
