using Microsoft.Extensions.Time.Testing;
using ServingGateway.LoadTool.Load;
using ServingGateway.LoadTool.Results;
using ServingGateway.LoadTool.Thresholds;

namespace ServingGateway.LoadTool.Tests.Thresholds;

public sealed class ThresholdEvaluatorTests
{
    [Fact]
    public void Evaluate_AllWithinLimits_AllPass()
    {
        var summary = Summary(latencyMs: 20, successes: 99, errors: 1);

        var results = ThresholdEvaluator.Evaluate(new ThresholdOptions { MaxP99Ms = 25, MaxErrorRate = 0.01, MinRate = 90 }, summary);

        Assert.Equal(3, results.Count);
        Assert.All(results, r => Assert.True(r.Passed, r.Name));
    }

    [Fact]
    public void Evaluate_EachLimitMissed_SaysWhich()
    {
        var summary = Summary(latencyMs: 30, successes: 80, errors: 20);

        var results = ThresholdEvaluator.Evaluate(new ThresholdOptions { MaxP99Ms = 25, MaxErrorRate = 0.05, MinRate = 90 }, summary);

        Assert.Equal(["p99 latency", "error rate", "successful rate"], results.Where(r => !r.Passed).Select(r => r.Name));
        Assert.Equal("30 ms", results[0].Actual);
        Assert.Equal("20% (20 of 100)", results[1].Actual);
    }

    [Fact]
    public void Evaluate_NoThresholds_NoResults()
    {
        Assert.Empty(ThresholdEvaluator.Evaluate(new ThresholdOptions(), Summary(10, 1, 0)));
    }

    [Fact]
    public void Evaluate_NoResponses_P99ThresholdFails()
    {
        var result = Assert.Single(ThresholdEvaluator.Evaluate(new ThresholdOptions { MaxP99Ms = 100 }, Summary(0, 0, 0)));

        Assert.False(result.Passed);
        Assert.Equal("no responses", result.Actual);
    }

    // A 1-second run: `successes` 200s and `errors` 500s, every latency `latencyMs`.
    private static RunSummary Summary(double latencyMs, int successes, int errors)
    {
        var time = new FakeTimeProvider();
        var start = time.GetTimestamp();
        var recorder = new LatencyRecorder(time, start, TimeSpan.FromSeconds(1), ["m"]);
        var end = start + (long)(latencyMs / 1000 * time.TimestampFrequency);
        for (var i = 0; i < successes + errors; i++)
        {
            recorder.Record(start, start, end, i < successes ? new RequestOutcome(0, 200, null, null, null) : new RequestOutcome(0, 500, "boom", null, null));
        }

        return recorder.Summarize(end, stoppedEarly: false);
    }
}
