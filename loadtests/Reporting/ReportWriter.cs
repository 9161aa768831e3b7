using System.Text;
using System.Text.Json;
using ServingGateway.LoadTool.Results;
using ServingGateway.LoadTool.Search;

namespace ServingGateway.LoadTool.Reporting;

/// <summary>Writes the report files of a run or a search into a folder, created if needed.</summary>
internal static class ReportWriter
{
    private const string RunNote = "Latency runs from each request's intended send time (open loop) or its actual send time (closed loop) to its last response byte; service time always from the actual send. Percentiles from HdrHistogram (3 significant digits).";

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>report.md, report.html, timeline.csv, percentiles.csv, summary.json; returns their paths.</summary>
    public static IReadOnlyList<string> WriteRun(RunReport report, string directory)
    {
        var tables = ReportTables.ForRun(report);
        var s = report.Summary;
        string[] plots = [ReportPlots.LatencyOverTime(s), ReportPlots.PercentileDistribution(s), ReportPlots.ThroughputOverTime(s)];
        if (report.ExpectVersion is not null || s.Versions.Count > 1)
        {
            plots = [.. plots, ReportPlots.VersionsOverTime(s, report.ExpectVersion)];
        }

        return Write(directory,
        [
            ("report.md", MarkdownReport.Render("Load test report", tables, RunNote + " Per-second data: timeline.csv; full distribution: percentiles.csv.")),
            ("report.html", HtmlReport.Render("Load test report", RunNote, tables, plots)),
            ("timeline.csv", CsvReport.Timeline(s)),
            ("versions.csv", CsvReport.Versions(s)),
            ("percentiles.csv", CsvReport.Percentiles(s)),
            ("summary.json", JsonSerializer.Serialize(SummaryJson(report), JsonOptions)),
        ]);
    }

    /// <summary>
    /// curve.md, curve.html, curve.csv; returns their paths. <paramref name="sloP99Ms"/> is the p99 SLO drawn on
    /// the p99 plot, null when the search judged goodput.
    /// </summary>
    public static IReadOnlyList<string> WriteCurve(MaxRateResult result, double? sloP99Ms, IReadOnlyList<ReportTable> tables, string directory)
    {
        double[] rates = [.. result.Steps.Select(s => s.Rate)];
        string[] plots =
        [
            ReportPlots.P99ByRate(rates, [.. result.Steps.Select(s => s.Measured.P99Ms)], sloP99Ms),
            ReportPlots.ThroughputByRate(rates, [.. result.Steps.Select(s => s.Measured.Throughput)], [.. result.Steps.Select(s => s.Measured.Goodput)]),
        ];
        const string note = "Each step is an open-loop run at the offered rate; latency from each request's intended send time.";
        var csv = new StringBuilder().AppendLine("step,offered_rate,throughput,goodput,p50_ms,p99_ms,error_rate,passed");
        foreach (var step in result.Steps)
        {
            csv.AppendJoin(',', Formatting.Count(step.Number), Formatting.Csv(step.Rate), Formatting.Csv(step.Measured.Throughput),
                step.Measured.Goodput is { } goodput ? Formatting.Csv(goodput) : "",
                Formatting.Csv(step.Measured.P50Ms), Formatting.Csv(step.Measured.P99Ms), Formatting.Csv(step.Measured.ErrorRate),
                step.Passed ? "true" : "false").AppendLine();
        }

        return Write(directory,
        [
            ("curve.md", MarkdownReport.Render("Highest rate within the SLO", tables, note)),
            ("curve.html", HtmlReport.Render("Highest rate within the SLO", note, tables, plots)),
            ("curve.csv", csv.ToString()),
        ]);
    }

    private static IReadOnlyList<string> Write(string directory, IReadOnlyList<(string Name, string Content)> files)
    {
        try
        {
            Directory.CreateDirectory(directory);
            var paths = new List<string>();
            foreach (var (name, content) in files)
            {
                var path = Path.Combine(directory, name);
                File.WriteAllText(path, content);
                paths.Add(path);
            }

            return paths;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new LoadToolException($"cannot write the reports to {directory}: {ex.Message}");
        }
    }

    private static object SummaryJson(RunReport report)
    {
        var s = report.Summary;
        static Dictionary<string, double> Percentiles(LatencyDistribution d)
        {
            var values = LatencyDistribution.ReportedPercentiles.ToDictionary(p => Formatting.Percentile(p).Replace('.', '_'), d.PercentileMs);
            values["max"] = d.MaxMs;
            values["mean"] = d.MeanMs;
            return values;
        }

        return new
        {
            s.Description,
            s.StartedAt,
            ElapsedSeconds = s.Elapsed.TotalSeconds,
            s.Finished,
            s.Responses,
            s.Successes,
            s.Errors,
            s.ErrorRate,
            s.Throughput,
            s.SuccessRate,
            SloMs = s.Slo?.TotalMilliseconds,
            s.WithinSlo,
            s.Goodput,
            s.GoodputShare,
            s.WarmupRequests,
            LatencyMs = Percentiles(s.Latency),
            ServiceTimeMs = Percentiles(s.ServiceTime),
            SuccessLatencyMs = s.SuccessLatency is { } ok ? Percentiles(ok) : null,
            RefusalLatencyMs = s.RefusalLatency is { } refused ? Percentiles(refused) : null,
            RefusalServiceTimeMs = s.RefusalServiceTime is { Count: > 0 } refusedService ? Percentiles(refusedService) : null,
            s.Refusals,
            s.RefusalsWithRetryAfter,
            s.ServedBy,
            s.Versions,
            report.ExpectVersion,
            ExpectedVersion = report.ExpectedVersion is var (answers, first, lastShare) ? new { Answers = answers, FirstSecond = first, LastSecondShare = lastShare } : null,
            s.OpenLoop,
            Thresholds = report.Thresholds,
            Passed = report.Thresholds.All(t => t.Passed),
        };
    }
}
