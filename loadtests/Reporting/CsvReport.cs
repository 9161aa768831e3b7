using System.Text;
using ServingGateway.LoadTool.Results;

namespace ServingGateway.LoadTool.Reporting;

/// <summary>The CSV files of a run: the per-second timeline and the full percentile distribution.</summary>
internal static class CsvReport
{
    /// <summary>
    /// second,finished,errors,p50_ms,p90_ms,p99_ms,max_ms,within_slo,p99_2xx_ms: one row per second of the measured part
    /// (within_slo, the goodput of that second, is empty when the run had no --slo; p99_2xx_ms is the p99 of its 2xx
    /// answers alone, 0 when it had none).
    /// </summary>
    public static string Timeline(RunSummary summary)
    {
        var csv = new StringBuilder().AppendLine("second,finished,errors,p50_ms,p90_ms,p99_ms,max_ms,within_slo,p99_2xx_ms");
        foreach (var s in summary.Timeline)
        {
            csv.AppendJoin(',', Formatting.Count(s.Second), Formatting.Count(s.Finished), Formatting.Count(s.Errors),
                Formatting.Csv(s.P50Ms), Formatting.Csv(s.P90Ms), Formatting.Csv(s.P99Ms), Formatting.Csv(s.MaxMs),
                s.WithinSlo is { } good ? Formatting.Count(good) : "", Formatting.Csv(s.P99SuccessMs)).AppendLine();
        }

        return csv.ToString();
    }

    /// <summary>second,version,answers: the answers of each model version in each second (X-Model-Version; a rollout over time).</summary>
    public static string Versions(RunSummary summary)
    {
        var csv = new StringBuilder().AppendLine("second,version,answers");
        foreach (var s in summary.Timeline)
        {
            foreach (var (version, answers) in (s.Versions ?? new Dictionary<string, long>()).OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                csv.AppendJoin(',', Formatting.Count(s.Second), version, Formatting.Count(answers)).AppendLine();
            }
        }

        return csv.ToString();
    }

    /// <summary>
    /// percentile,latency_ms,service_time_ms: the fixed percentiles (50 … 99.9, 100 = max), then
    /// HdrHistogram's full distribution of latency as percentile,latency_ms,count_at_or_below.
    /// </summary>
    public static string Percentiles(RunSummary summary)
    {
        var csv = new StringBuilder().AppendLine("percentile,latency_ms,service_time_ms");
        foreach (var p in LatencyDistribution.ReportedPercentiles)
        {
            csv.AppendJoin(',', Formatting.Csv(p), Formatting.Csv(summary.Latency.PercentileMs(p)), Formatting.Csv(summary.ServiceTime.PercentileMs(p))).AppendLine();
        }

        csv.AppendJoin(',', "100", Formatting.Csv(summary.Latency.MaxMs), Formatting.Csv(summary.ServiceTime.MaxMs)).AppendLine()
            .AppendLine()
            .AppendLine("percentile,latency_ms,count_at_or_below");
        foreach (var (percentile, latencyMs, count) in summary.Latency.Distribution())
        {
            csv.AppendJoin(',', Formatting.Csv(percentile), Formatting.Csv(latencyMs), Formatting.Count(count)).AppendLine();
        }

        return csv.ToString();
    }
}
