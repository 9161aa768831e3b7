namespace ServingGateway.LoadTool.Thresholds;

/// <summary>One threshold checked: what it is, its limit, the measured value, and whether it held.</summary>
internal sealed record ThresholdResult(string Name, string Limit, string Actual, bool Passed);
