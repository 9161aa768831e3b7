using System.Globalization;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// A step's analysis: the new version's readings in the window against the bounds, and its p99 against the current
/// version's in the same window. A window is judged only once it has min_requests answers of the new version (blue-green:
/// its shadow runs) and, with max_output_divergence, at least one comparison; a bound whose reading is missing is not
/// failed by it.
/// </summary>
internal static class RolloutJudge
{
    /// <summary>The verdict on one window: a failure (roll back), too few readings (extend), else passed.</summary>
    public static RolloutVerdict Judge(RolloutAnalysis analysis, VersionEvidence newVersion, VersionEvidence current, bool needsComparisons)
    {
        // Too few readings are not judged: a 5% step's first two answers say little about its p99.
        if (newVersion.Requests < analysis.MinRequests)
        {
            return new RolloutVerdict(null, $"too few requests: {newVersion.Requests} of min_requests {analysis.MinRequests}", "");
        }

        if (needsComparisons && newVersion.Compared == 0)
        {
            return new RolloutVerdict(null, "no shadow comparison yet for max_output_divergence", "");
        }

        if (analysis.MaxErrorRate is { } maxErrorRate && newVersion.Requests > 0 && newVersion.ErrorRate > maxErrorRate)
        {
            return Failed($"error rate {F(newVersion.ErrorRate)} ({newVersion.Errors} of {newVersion.Requests}) above max_error_rate {F(maxErrorRate)}");
        }

        if (analysis.MaxP99Ms is { } maxP99 && newVersion.P99Ms > maxP99)
        {
            return Failed($"p99 {F(newVersion.P99Ms)} ms above max_p99_ms {F(maxP99)}");
        }

        if (analysis.MaxP99Ratio is { } maxRatio && current.P99Ms > 0 && newVersion.P99Ms / current.P99Ms > maxRatio)
        {
            return Failed($"p99 {F(newVersion.P99Ms)} ms is {F(newVersion.P99Ms / current.P99Ms)}x the current version's {F(current.P99Ms)} ms, above max_p99_ratio {F(maxRatio)}");
        }

        // +infinity (outputs that do not even match in name, shape or type) fails too; NaN (nothing compared) cannot.
        if (analysis.MaxOutputDivergence is { } maxDivergence && newVersion.MaxDivergence > maxDivergence)
        {
            return Failed($"output divergence {F(newVersion.MaxDivergence)} (max of {newVersion.Compared} comparisons) above max_output_divergence {F(maxDivergence)}");
        }

        return new RolloutVerdict(null, null,
            $"{newVersion.Requests} requests, error rate {F(newVersion.ErrorRate)}, p99 {F(newVersion.P99Ms)} ms (current {F(current.P99Ms)} ms), "
            + $"divergence {F(newVersion.MaxDivergence)} over {newVersion.Compared} comparisons");
    }

    private static RolloutVerdict Failed(string reason) => new(reason, null, "");

    private static string F(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}
