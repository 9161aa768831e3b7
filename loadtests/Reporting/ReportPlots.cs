using ScottPlot;
using ServingGateway.LoadTool.Results;

namespace ServingGateway.LoadTool.Reporting;

/// <summary>
/// The plots of the HTML reports, drawn with ScottPlot as SVG (text stays text, so the browser
/// draws it with its own fonts).
/// </summary>
internal static class ReportPlots
{
    private const int Width = 540;
    private const int Height = 340;

    /// <summary>p50, p90, p99 and max latency of each second.</summary>
    public static string LatencyOverTime(RunSummary summary)
    {
        var plot = NewPlot("Latency over time", "second", "latency (ms)");
        double[] xs = [.. summary.Timeline.Select(s => (double)s.Second)];
        Line(plot, xs, [.. summary.Timeline.Select(s => s.MaxMs)], "max");
        Line(plot, xs, [.. summary.Timeline.Select(s => s.P99Ms)], "p99");
        Line(plot, xs, [.. summary.Timeline.Select(s => s.P90Ms)], "p90");
        Line(plot, xs, [.. summary.Timeline.Select(s => s.P50Ms)], "p50");
        return Svg(plot);
    }

    /// <summary>Requests finished, errors, and (with an SLO) answers within it, in each second.</summary>
    public static string ThroughputOverTime(RunSummary summary)
    {
        var plot = NewPlot("Throughput and errors", "second", "requests / s");
        double[] xs = [.. summary.Timeline.Select(s => (double)s.Second)];
        Line(plot, xs, [.. summary.Timeline.Select(s => (double)s.Finished)], "finished");
        Line(plot, xs, [.. summary.Timeline.Select(s => (double)s.Errors)], "errors");
        if (summary.Slo is { } slo)
        {
            Line(plot, xs, [.. summary.Timeline.Select(s => (double)(s.WithinSlo ?? 0))], $"within {Formatting.Ms(slo.TotalMilliseconds)} ms (goodput)");
        }

        return Svg(plot);
    }

    /// <summary>
    /// The share of each second's answers by model version (the five versions with the most answers): a rollout as
    /// it happens, with <paramref name="expected"/> (<c>--expect-version</c>) always drawn.
    /// </summary>
    public static string VersionsOverTime(RunSummary summary, string? expected)
    {
        var plot = NewPlot("Answers by model version", "second", "share of the second's answers (%)");
        double[] xs = [.. summary.Timeline.Select(s => (double)s.Second)];
        var versions = summary.Versions.OrderByDescending(p => p.Value).Select(p => p.Key).Take(5).ToList();
        if (expected is not null && !versions.Contains(expected))
        {
            versions.Add(expected);
        }

        foreach (var version in versions)
        {
            Line(plot, xs, [.. summary.Timeline.Select(s => s.Versions is { Count: > 0 } all ? 100.0 * s.AnswersOf(version) / all.Values.Sum() : 0)],
                version == expected ? $"version {version} (expected)" : $"version {version}");
        }

        return Svg(plot);
    }

    /// <summary>
    /// Latency and service time by percentile, HdrHistogram style: the x axis is
    /// log10(1 / (1 − p)), so 90%, 99%, 99.9% are evenly spaced and the tail is readable.
    /// </summary>
    public static string PercentileDistribution(RunSummary summary)
    {
        var plot = NewPlot("Latency by percentile", "percentile", "latency (ms)");
        Distribution(plot, summary.Latency, "latency (from intended send)");
        Distribution(plot, summary.ServiceTime, "service time (from actual send)");
        double[] positions = [0, 1, 2, 3, 4, 5];
        plot.Axes.Bottom.SetTicks(positions, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
        return Svg(plot);
    }

    /// <summary>find-max-rate: p99 of each step against its target rate, with the p99 SLO when the search judged it.</summary>
    public static string P99ByRate(IReadOnlyList<double> rates, IReadOnlyList<double> p99s, double? sloMs)
    {
        var plot = NewPlot("p99 by offered rate", "offered rate (req/s)", "p99 latency (ms)");
        var scatter = plot.Add.Scatter(rates.ToArray(), p99s.ToArray());
        scatter.LegendText = "p99";
        scatter.LineWidth = 0;
        scatter.MarkerSize = 8;
        if (sloMs is { } line)
        {
            var slo = plot.Add.HorizontalLine(line);
            slo.LegendText = "SLO";
            slo.LinePattern = LinePattern.Dashed;
        }

        return Svg(plot);
    }

    /// <summary>find-max-rate: achieved throughput (and goodput, when measured) of each step against its target rate.</summary>
    public static string ThroughputByRate(IReadOnlyList<double> rates, IReadOnlyList<double> throughputs, IReadOnlyList<double?> goodputs)
    {
        var plot = NewPlot("Throughput by offered rate", "offered rate (req/s)", "throughput (req/s)");
        var scatter = plot.Add.Scatter(rates.ToArray(), throughputs.ToArray());
        scatter.LegendText = "throughput";
        scatter.LineWidth = 0;
        scatter.MarkerSize = 8;
        var measured = rates.Zip(goodputs).Where(p => p.Second is not null).ToArray();
        if (measured.Length > 0)
        {
            var good = plot.Add.Scatter(measured.Select(p => p.First).ToArray(), measured.Select(p => p.Second!.Value).ToArray());
            good.LegendText = "goodput (within the SLO)";
            good.LineWidth = 0;
            good.MarkerSize = 8;
        }

        var max = rates.Count == 0 ? 1 : rates.Max();
        var ideal = plot.Add.Line(0, 0, max, max);
        ideal.LegendText = "throughput = offered";
        ideal.LinePattern = LinePattern.Dashed;
        return Svg(plot);
    }

    private static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    private static void Line(Plot plot, double[] xs, double[] ys, string label)
    {
        if (xs.Length == 0)
        {
            return;
        }

        var line = plot.Add.Scatter(xs, ys);
        line.LegendText = label;
        line.MarkerSize = xs.Length == 1 ? 6 : 0;
        line.LineWidth = 2;
    }

    private static void Distribution(Plot plot, LatencyDistribution distribution, string label)
    {
        // The last rows are at percentile 100, which has no finite position: stop just before.
        var rows = distribution.Distribution().Where(r => r.Percentile < 100).ToArray();
        double[] xs = [.. rows.Select(r => Math.Log10(1 / (1 - (r.Percentile / 100))))];
        double[] ys = [.. rows.Select(r => r.LatencyMs)];
        Line(plot, xs, ys, label);
    }

    private static string Svg(Plot plot) => plot.GetSvgXml(Width, Height);
}
