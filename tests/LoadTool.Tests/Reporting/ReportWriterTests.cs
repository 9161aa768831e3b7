using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.LoadTool.Load;
using ServingGateway.LoadTool.Reporting;
using ServingGateway.LoadTool.Results;
using ServingGateway.LoadTool.Search;
using ServingGateway.LoadTool.Thresholds;

namespace ServingGateway.LoadTool.Tests.Reporting;

public sealed class ReportWriterTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "loadtool-tests-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void WriteRun_ARun_WritesEveryFormatWithItsContent()
    {
        var report = new RunReport(ThreeSecondRun(), [new ThresholdResult("p99 latency", "≤ 5 ms", "30 ms", false)],
            "http://127.0.0.1:8000/", ["mlp (weight 1, generated, JSON, 1 distinct request)"], "run --url http://127.0.0.1:8000 --model mlp --open-rate 100");

        var paths = ReportWriter.WriteRun(report, _directory);

        Assert.Equal(["report.md", "report.html", "timeline.csv", "versions.csv", "percentiles.csv", "summary.json"], paths.Select(Path.GetFileName));
        var markdown = File.ReadAllText(Path.Combine(_directory, "report.md"));
        Assert.Contains("| p99.9 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| hit-memory | 200 | 64.516% |", markdown, StringComparison.Ordinal);
        Assert.Contains("| 503 | queue full | 10 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| p99 latency | ≤ 5 ms | 30 ms | MISSED |", markdown, StringComparison.Ordinal);

        var html = File.ReadAllText(Path.Combine(_directory, "report.html"));
        Assert.Equal(3, CountOf(html, "<svg"));
        Assert.Contains("Latency over time", html, StringComparison.Ordinal);
        Assert.Contains("Latency by percentile", html, StringComparison.Ordinal);
        Assert.Contains("node-2", html, StringComparison.Ordinal);
        // Self-contained: no scripts, stylesheets or images fetched from elsewhere.
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("src=\"http", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);

        var timeline = File.ReadAllLines(Path.Combine(_directory, "timeline.csv"));
        Assert.Equal("second,finished,errors,p50_ms,p90_ms,p99_ms,max_ms,within_slo,p99_2xx_ms", timeline[0]);
        Assert.Equal(4, timeline.Length);
        Assert.StartsWith("1,110,10,", timeline[2], StringComparison.Ordinal);
        Assert.Equal("", timeline[2].Split(',')[7]); // no --slo: no goodput
        Assert.DoesNotContain("goodput", markdown, StringComparison.Ordinal);

        var percentiles = File.ReadAllLines(Path.Combine(_directory, "percentiles.csv"));
        Assert.Equal("percentile,latency_ms,service_time_ms", percentiles[0]);
        Assert.StartsWith("50,", percentiles[1], StringComparison.Ordinal);
        Assert.Contains("percentile,latency_ms,count_at_or_below", percentiles);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_directory, "summary.json")));
        Assert.Equal(310, json.RootElement.GetProperty("finished").GetInt64());
        Assert.Equal(30, json.RootElement.GetProperty("latency_ms").GetProperty("max").GetDouble(), 0);
        Assert.False(json.RootElement.GetProperty("passed").GetBoolean());
    }

    [Fact]
    public void WriteRun_WithAnSlo_ReportsGoodputInTheSummaryTheTimelineAndTheJson()
    {
        // The same three seconds with a 10 ms SLO: 299 answers of 2 ms are within it, the 30 ms one and the ten 503s are not.
        var report = new RunReport(ThreeSecondRun(TimeSpan.FromMilliseconds(10)), [], "http://127.0.0.1:8000/", ["mlp"], "run --slo 10");

        ReportWriter.WriteRun(report, _directory);

        var markdown = File.ReadAllText(Path.Combine(_directory, "report.md"));
        Assert.Contains("| goodput | 99.7 req/s within 10.00 ms (299 answers, 96.452% of the requests) |", markdown, StringComparison.Ordinal);
        var timeline = File.ReadAllLines(Path.Combine(_directory, "timeline.csv"));
        Assert.Equal(["100", "99", "100"], timeline.Skip(1).Select(line => line.Split(',')[7]));
        Assert.Contains("goodput", File.ReadAllText(Path.Combine(_directory, "report.html")), StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_directory, "summary.json")));
        Assert.Equal(10, json.RootElement.GetProperty("slo_ms").GetDouble());
        Assert.Equal(299, json.RootElement.GetProperty("within_slo").GetInt64());
    }

    [Fact]
    public void WriteRun_ExpectVersion_FollowsItsShareOfTheAnswersOverTime()
    {
        // A rollout seen from outside: second 0 all version 1, second 1 half and half, second 2 all version 2.
        var time = new FakeTimeProvider();
        var start = time.GetTimestamp();
        var recorder = new LatencyRecorder(time, start, TimeSpan.FromSeconds(3), ["mlp"]);
        long Ms(double ms) => start + (long)(ms / 1000 * time.TimestampFrequency);
        for (var i = 0; i < 30; i++)
        {
            var sent = Ms(i * 100);
            var version = i < 10 || (i < 20 && i % 2 == 0) ? "1" : "2";
            recorder.Record(sent, sent, sent + Ms(2) - start, new RequestOutcome(0, 200, null, null, null, Version: version));
        }

        var summary = recorder.Summarize(Ms(3000), stoppedEarly: false) with { Description = "open loop, 10 req/s" };
        var report = new RunReport(summary, [], "http://127.0.0.1:8000/", ["mlp"], "run --expect-version 2", ExpectVersion: "2");

        ReportWriter.WriteRun(report, _directory);

        Assert.Equal(["second,version,answers", "0,1,10", "1,1,5", "1,2,5", "2,2,10"], File.ReadAllLines(Path.Combine(_directory, "versions.csv")));
        var markdown = File.ReadAllText(Path.Combine(_directory, "report.md"));
        Assert.Contains("| version 2 | 15 of 30 answers; first in second 1; 100% of the last second's answers |", markdown, StringComparison.Ordinal);
        Assert.Contains("| 2 | 15 | 50% |", markdown, StringComparison.Ordinal); // the X-Model-Version table
        var html = File.ReadAllText(Path.Combine(_directory, "report.html"));
        Assert.Equal(4, CountOf(html, "<svg"));
        Assert.Contains("version 2 (expected)", html, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_directory, "summary.json")));
        Assert.Equal("2", json.RootElement.GetProperty("expect_version").GetString());
        Assert.Equal(1, json.RootElement.GetProperty("expected_version").GetProperty("first_second").GetInt32());
        Assert.Equal(15, json.RootElement.GetProperty("versions").GetProperty("1").GetInt64());
    }

    [Fact]
    public void WriteRun_ExpectedVersionNeverAnswers_SaysSo()
    {
        var report = new RunReport(ThreeSecondRun(), [], "http://127.0.0.1:8000/", ["mlp"], "run --expect-version 7", ExpectVersion: "7");

        ReportWriter.WriteRun(report, _directory);

        Assert.Contains("| version 7 | 0 of 310 answers; never answered |", File.ReadAllText(Path.Combine(_directory, "report.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void WriteCurve_ASearch_WritesTheCurveWithItsPlots()
    {
        var steps = new[]
        {
            new SearchStep(1, 100, new StepMeasurement(100, 1, 2, 0, 1000), true, "pass"),
            new SearchStep(2, 200, new StepMeasurement(150, 50, 400, 0, 1500), false, "p99 400 ms > 10 ms"),
        };
        var result = new MaxRateResult(steps, 100);
        var tables = CurveTables.For(result, SearchCriterion.P99, 10, "http://127.0.0.1:8000/", "mlp", "find-max-rate --slo-p99 10");

        var paths = ReportWriter.WriteCurve(result, 10, tables, _directory);

        Assert.Equal(["curve.md", "curve.html", "curve.csv"], paths.Select(Path.GetFileName));
        Assert.Contains("| highest rate within the SLO | 100.0 req/s |", File.ReadAllText(paths[0]), StringComparison.Ordinal);
        Assert.Equal(2, CountOf(File.ReadAllText(paths[1]), "<svg"));
        Assert.Equal(["step,offered_rate,throughput,goodput,p50_ms,p99_ms,error_rate,passed", "1,100,100,,1,2,0,true", "2,200,150,,50,400,0,false"], File.ReadAllLines(paths[2]));
    }

    [Fact]
    public void WriteCurve_ByGoodput_ShowsTheCriterionAndTheGoodputOfEachStep()
    {
        var steps = new[]
        {
            new SearchStep(1, 100, new StepMeasurement(100, 1, 2, 0, 1000, Goodput: 99.5), true, "pass"),
            new SearchStep(2, 200, new StepMeasurement(200, 2, 4, 0.3, 2000, Goodput: 140), false, "goodput 140 < 99% of 200"),
        };
        var result = new MaxRateResult(steps, 100);
        var tables = CurveTables.For(result, SearchCriterion.Goodput, 50, "http://127.0.0.1:8000/", "mlp", "find-max-rate --criterion goodput --slo 50");

        var paths = ReportWriter.WriteCurve(result, null, tables, _directory);

        var markdown = File.ReadAllText(paths[0]);
        Assert.Contains("| SLO | goodput ≥ 99% of the offered rate (2xx answers within 50.00 ms) |", markdown, StringComparison.Ordinal);
        Assert.Contains("| 2 | 200.0 | 200.0 | 140.0 |", markdown, StringComparison.Ordinal);
        Assert.Equal(["step,offered_rate,throughput,goodput,p50_ms,p99_ms,error_rate,passed", "1,100,100,99.5,1,2,0,true", "2,200,200,140,2,4,0.3,false"], File.ReadAllLines(paths[2]));
        Assert.Contains("goodput (within the SLO)", File.ReadAllText(paths[1]), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    // Three seconds at 100 req/s: 2 ms latency, but second 1 adds 10 × 503 and one 30 ms response.
    private static RunSummary ThreeSecondRun(TimeSpan? slo = null)
    {
        var time = new FakeTimeProvider();
        var start = time.GetTimestamp();
        var recorder = new LatencyRecorder(time, start, TimeSpan.FromSeconds(3), ["mlp"], slo);
        long Ms(double ms) => start + (long)(ms / 1000 * time.TimestampFrequency);
        for (var i = 0; i < 300; i++)
        {
            var sent = Ms(i * 10);
            var latency = i == 150 ? 30 : 2;
            recorder.Record(sent, sent, sent + Ms(latency) - start, new RequestOutcome(0, 200, null, i % 3 == 0 ? "miss" : "hit-memory", i % 2 == 0 ? "node-1" : "node-2"));
            if (i == 100)
            {
                for (var e = 0; e < 10; e++)
                {
                    recorder.Record(sent, sent, sent + Ms(1) - start, new RequestOutcome(0, 503, "queue full", null, "node-1"));
                }
            }
        }

        return recorder.Summarize(Ms(3000), stoppedEarly: false) with { Description = "open loop, 100 req/s" };
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;
}
