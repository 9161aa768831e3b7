using ServingGateway.LoadTool.Results;

namespace ServingGateway.LoadTool.Reporting;

/// <summary>The tables of a run report, in report order; empty sections are left out.</summary>
internal static class ReportTables
{
    public static IReadOnlyList<ReportTable> ForRun(RunReport report)
    {
        var s = report.Summary;
        var tables = new List<ReportTable> { Summary(report), Latency(s) };
        if (s.Targets.Count > 1)
        {
            tables.Add(new("Per model", ["model", "requests", "errors", "p50 (ms)", "p99 (ms)", "max (ms)"],
                [.. s.Targets.Select(t => (IReadOnlyList<string>)[t.Model, Formatting.Count(t.Finished), Formatting.Count(t.Errors),
                    Formatting.Ms(t.Latency.PercentileMs(50)), Formatting.Ms(t.Latency.PercentileMs(99)), Formatting.Ms(t.Latency.MaxMs)])]));
        }

        tables.Add(new("Status codes", ["status", "responses"],
            [.. s.StatusCounts.OrderBy(p => p.Key).Select(p => (IReadOnlyList<string>)[p.Key.ToString(), Formatting.Count(p.Value)])]));
        if (s.ErrorCounts.Count > 0)
        {
            tables.Add(new("Errors by status and reason", ["status", "reason", "count"],
                [.. s.ErrorCounts.OrderByDescending(p => p.Value).ThenBy(p => p.Key.Status)
                    .Select(p => (IReadOnlyList<string>)[p.Key.StatusText, p.Key.Reason, Formatting.Count(p.Value)])]));
        }

        tables.Add(Distribution("X-Cache", s.Cache, s.Responses));
        tables.Add(Distribution("X-Served-By", s.ServedBy, s.Responses));
        tables.Add(Distribution("X-Model-Version", s.Versions, s.Responses));
        if (report.Thresholds.Count > 0)
        {
            tables.Add(new("Thresholds", ["threshold", "limit", "measured", "result"],
                [.. report.Thresholds.Select(t => (IReadOnlyList<string>)[t.Name, t.Limit, t.Actual, t.Passed ? "passed" : "MISSED"])]));
        }

        return tables;
    }

    /// <summary>Percentiles of latency (from the intended send time) and of service time (from the actual send).</summary>
    public static ReportTable Latency(RunSummary s)
    {
        var rows = LatencyDistribution.ReportedPercentiles
            .Select(p => (IReadOnlyList<string>)[Formatting.Percentile(p), Formatting.Ms(s.Latency.PercentileMs(p)), Formatting.Ms(s.ServiceTime.PercentileMs(p))])
            .Append([ "max", Formatting.Ms(s.Latency.MaxMs), Formatting.Ms(s.ServiceTime.MaxMs)])
            .Append([ "mean", Formatting.Ms(s.Latency.MeanMs), Formatting.Ms(s.ServiceTime.MeanMs)]);
        return new("Latency", ["percentile", "latency (ms)", "service time (ms)"], [.. rows]);
    }

    private static ReportTable Summary(RunReport report)
    {
        var s = report.Summary;
        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "server", report.Url },
            new[] { "models", string.Join("; ", report.Models) },
            new[] { "load", s.Description },
            new[] { "started", s.StartedAt.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture) },
            new[] { "measured", Formatting.Seconds(s.Elapsed) },
            new[] { "requests", $"{Formatting.Count(s.Finished)} ({Formatting.Count(s.WarmupRequests)} more in warm-up)" },
            new[] { "throughput", $"{Formatting.Rate(s.Throughput)} req/s ({Formatting.Rate(s.SuccessRate)} successful/s)" },
            new[] { "errors", $"{Formatting.Count(s.Errors)} ({Formatting.Percent(s.ErrorRate)})" },
        };
        if (s.Slo is { } slo)
        {
            rows.Add(["goodput", $"{Formatting.Rate(s.Goodput ?? 0)} req/s within {Formatting.Ms(slo.TotalMilliseconds)} ms ({Formatting.Count(s.WithinSlo ?? 0)} answers, {Formatting.Percent(s.GoodputShare ?? 0)} of the requests)"]);
        }

        if (report.ExpectedVersion is var (answers, firstSecond, lastShare))
        {
            rows.Add([$"version {report.ExpectVersion}", $"{Formatting.Count(answers)} of {Formatting.Count(s.Responses)} answers; "
                + (firstSecond is { } first ? $"first in second {first}; {Formatting.Percent(lastShare)} of the last second's answers" : "never answered")]);
        }

        if (s.SuccessLatency is { Count: > 0 } ok)
        {
            rows.Add(["2xx latency", $"p50 {Formatting.Ms(ok.PercentileMs(50))} ms, p99 {Formatting.Ms(ok.PercentileMs(99))} ms, max {Formatting.Ms(ok.MaxMs)} ms"]);
        }

        if (s.RefusalLatency is { Count: > 0 } refused)
        {
            var service = s.RefusalServiceTime is { Count: > 0 } fromSend
                ? $"; from the actual send p50 {Formatting.Ms(fromSend.PercentileMs(50))} ms, p99 {Formatting.Ms(fromSend.PercentileMs(99))} ms"
                : "";
            rows.Add(["refusals (503, 429 / UNAVAILABLE, RESOURCE_EXHAUSTED)", $"{Formatting.Count(s.Refusals)}, {Formatting.Count(s.RefusalsWithRetryAfter)} with Retry-After; latency p50 {Formatting.Ms(refused.PercentileMs(50))} ms, p99 {Formatting.Ms(refused.PercentileMs(99))} ms{service}"]);
        }

        if (s.OpenLoop is { } open)
        {
            rows.Add(["scheduled", Formatting.Count(open.Scheduled)]);
            rows.Add(["sent > 1 ms late", $"{Formatting.Count(open.LateSends)} (in-flight cap reached {Formatting.Count(open.CapHits)} times; peak in flight {open.PeakInFlight})"]);
        }

        rows.Add(["command", report.CommandLine]);
        return new("Summary", ["", ""], rows) { TextOnly = true };
    }

    private static ReportTable Distribution(string header, IReadOnlyDictionary<string, long> counts, long total) =>
        new(header, ["value", "responses", "share"],
            [.. counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => (IReadOnlyList<string>)[p.Key, Formatting.Count(p.Value), Formatting.Percent(total == 0 ? 0 : (double)p.Value / total)])]);
}
