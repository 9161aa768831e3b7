using System.Globalization;
using ServingGateway.LoadTool.Results;

namespace ServingGateway.LoadTool.Thresholds;

/// <summary>Checks a run against its thresholds; the run passes when every result passed.</summary>
internal static class ThresholdEvaluator
{
    public static IReadOnlyList<ThresholdResult> Evaluate(ThresholdOptions thresholds, RunSummary summary)
    {
        var results = new List<ThresholdResult>();
        if (thresholds.MaxP99Ms is { } maxP99)
        {
            var p99 = summary.Latency.PercentileMs(99);
            // A run with no responses has no p99 to trust: it fails rather than passing at 0 ms.
            results.Add(new("p99 latency", $"≤ {Format(maxP99)} ms", summary.Responses == 0 ? "no responses" : $"{Format(p99)} ms",
                summary.Responses > 0 && p99 <= maxP99));
        }

        if (thresholds.MaxErrorRate is { } maxErrors)
        {
            results.Add(new("error rate", $"≤ {Percent(maxErrors)}", $"{Percent(summary.ErrorRate)} ({summary.Errors} of {summary.Finished})",
                summary.Finished > 0 && summary.ErrorRate <= maxErrors));
        }

        if (thresholds.MinRate is { } minRate)
        {
            results.Add(new("successful rate", $"≥ {Format(minRate)} req/s", $"{Format(summary.SuccessRate)} req/s", summary.SuccessRate >= minRate));
        }

        return results;
    }

    private static string Format(double value) => value.ToString(value < 10 ? "0.###" : "0.#", CultureInfo.InvariantCulture);

    private static string Percent(double fraction) => (fraction * 100).ToString("0.###", CultureInfo.InvariantCulture) + "%";
}
