using ServingGateway.LoadTool.Search;

namespace ServingGateway.LoadTool.Reporting;

/// <summary>The tables of a find-max-rate report: the answer and the curve, step by step.</summary>
internal static class CurveTables
{
    public static IReadOnlyList<ReportTable> For(MaxRateResult result, SearchCriterion criterion, double sloMs, string url, string models, string commandLine)
    {
        var answer = result.MaxRate is { } rate ? $"{Formatting.Rate(rate)} req/s" : "none: no rate tried kept the SLO";
        var summary = new ReportTable("Summary", ["", ""],
        [
            ["server", url],
            ["models", models],
            ["SLO", criterion == SearchCriterion.Goodput
                ? $"goodput ≥ {Formatting.Percent(MaxRateSearch.MinGoodputShare)} of the offered rate (2xx answers within {Formatting.Ms(sloMs)} ms)"
                : $"p99 ≤ {Formatting.Ms(sloMs)} ms"],
            ["highest rate within the SLO", answer],
            ["steps", Formatting.Count(result.Steps.Count)],
            ["command", commandLine],
        ]) { TextOnly = true };
        var curve = new ReportTable("Curve", ["step", "offered (req/s)", "throughput (req/s)", "goodput (req/s)", "p50 (ms)", "p99 (ms)", "errors", "verdict"],
            [.. result.Steps.Select(s => (IReadOnlyList<string>)[
                Formatting.Count(s.Number), Formatting.Rate(s.Rate), Formatting.Rate(s.Measured.Throughput),
                s.Measured.Goodput is { } goodput ? Formatting.Rate(goodput) : "",
                Formatting.Ms(s.Measured.P50Ms), Formatting.Ms(s.Measured.P99Ms), Formatting.Percent(s.Measured.ErrorRate), s.Verdict])]);
        return [summary, curve];
    }
}
