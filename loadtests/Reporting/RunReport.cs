using ServingGateway.LoadTool.Results;
using ServingGateway.LoadTool.Thresholds;

namespace ServingGateway.LoadTool.Reporting;

/// <summary>
/// What a run report shows: the results, the thresholds checked, and what was run (the server,
/// one line per model: name, weight, payload, encoding; and the command line), and the version a rollout is
/// expected to bring (<c>--expect-version</c>), whose share of the answers the report follows over time.
/// </summary>
internal sealed record RunReport(RunSummary Summary, IReadOnlyList<ThresholdResult> Thresholds, string Url, IReadOnlyList<string> Models, string CommandLine, string? ExpectVersion = null)
{
    /// <summary>
    /// How the expected version came in: its answers in total, the first second it answered in (null: never), and its
    /// share of the answers in the last second; null without <c>--expect-version</c>.
    /// </summary>
    public (long Answers, int? FirstSecond, double LastSecondShare)? ExpectedVersion =>
        ExpectVersion is not { } version ? null
        : (Summary.Versions.GetValueOrDefault(version),
           Summary.Timeline.FirstOrDefault(s => s.AnswersOf(version) > 0)?.Second,
           Summary.Timeline.LastOrDefault(s => s.Versions is { Count: > 0 }) is { } last ? (double)last.AnswersOf(version) / last.Versions!.Values.Sum() : 0);
}
