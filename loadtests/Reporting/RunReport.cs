using ServingGateway.LoadTool.Results;
using ServingGateway.LoadTool.Thresholds;

namespace ServingGateway.LoadTool.Reporting;

/// <summary>
/// What a run report shows: the results, the thresholds checked, and what was run (the server,
/// one line per model: name, weight, payload, encoding; and the command line).
/// </summary>
internal sealed record RunReport(RunSummary Summary, IReadOnlyList<ThresholdResult> Thresholds, string Url, IReadOnlyList<string> Models, string CommandLine);
