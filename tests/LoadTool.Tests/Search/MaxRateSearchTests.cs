using ServingGateway.LoadTool.Search;

namespace ServingGateway.LoadTool.Tests.Search;

public sealed class MaxRateSearchTests
{
    // A server that keeps up to `capacity` req/s with 2 ms p99 and falls over beyond it.
    private static Func<double, CancellationToken, Task<StepMeasurement>> Server(double capacity) => (rate, _) =>
        Task.FromResult(rate <= capacity
            ? new StepMeasurement(rate, 1, 2, 0, 100)
            : new StepMeasurement(capacity, 200, 900, 0, 100));

    [Fact]
    public async Task RunAsync_CapacityBetweenProbes_FindsItWithinThePrecision()
    {
        var search = new MaxRateSearch(sloMs: 10, maxErrorRate: 0.01, startRate: 100, maxRate: 100_000, precision: 0.05, maxSteps: 20);

        var result = await search.RunAsync(Server(1000), null, CancellationToken.None);

        Assert.NotNull(result.MaxRate);
        Assert.InRange(result.MaxRate.Value, 950, 1000);
        // Doubling: 100, 200, 400, 800 pass; 1600 fails; then bisection.
        Assert.Equal([100.0, 200, 400, 800, 1600], result.Steps.Take(5).Select(s => s.Rate));
        Assert.False(result.Steps[4].Passed);
        Assert.Contains("p99 900 ms > 10 ms", result.Steps[4].Verdict, StringComparison.Ordinal);
    }

    // A server that sheds past `capacity` req/s: it answers every request fast (p99 2 ms), but only `capacity`
    // a second with 2xx; the rest are quick 503s (errors), so its goodput stays at its capacity.
    private static Func<double, CancellationToken, Task<StepMeasurement>> SheddingServer(double capacity) => (rate, _) =>
        Task.FromResult(new StepMeasurement(rate, 1, 2, rate <= capacity ? 0 : (rate - capacity) / rate, 100, Goodput: Math.Min(rate, capacity)));

    [Fact]
    public async Task RunAsync_ByGoodput_FindsTheRateWhoseAnswersStayWithinTheSlo()
    {
        var search = new MaxRateSearch(50, maxErrorRate: 1, startRate: 100, maxRate: 100_000, precision: 0.05, maxSteps: 20, SearchCriterion.Goodput);

        var result = await search.RunAsync(SheddingServer(1000), null, CancellationToken.None);

        Assert.InRange(result.MaxRate!.Value, 950, 1000);
        var overloaded = result.Steps.First(s => s.Rate == 1600);
        Assert.False(overloaded.Passed);
        Assert.Equal("goodput 1000 < 99% of 1600 (answers within 50 ms)", overloaded.Verdict);
    }

    [Fact]
    public void Judge_ByGoodput_JudgesGoodputNotP99OrThroughput()
    {
        var search = new MaxRateSearch(50, 0.01, 100, 1000, 0.05, 20, SearchCriterion.Goodput);

        // p99 far above the SLO (1% of answers late) and throughput short of the rate: goodput 99% still passes.
        Assert.True(search.Judge(1, 100, new StepMeasurement(90, 1, 900, 0, 1000, Goodput: 99)).Passed);
        Assert.False(search.Judge(2, 100, new StepMeasurement(100, 1, 2, 0, 1000, Goodput: 98.9)).Passed);
        // A step without a measured goodput (no SLO given to the run) cannot pass.
        Assert.False(search.Judge(3, 100, new StepMeasurement(100, 1, 2, 0, 1000)).Passed);
        // The same measurements judged by p99: the late tail fails, goodput is not looked at.
        var byP99 = new MaxRateSearch(50, 0.01, 100, 1000, 0.05, 20);
        Assert.Equal("p99 900 ms > 50 ms; throughput 90 < 95% of 100", byP99.Judge(1, 100, new StepMeasurement(90, 1, 900, 0, 1000, Goodput: 99)).Verdict);
        Assert.True(byP99.Judge(2, 100, new StepMeasurement(100, 1, 2, 0, 1000, Goodput: 10)).Passed);
    }

    [Fact]
    public async Task RunAsync_EveryRatePasses_AnswersTheMaximum()
    {
        var search = new MaxRateSearch(10, 0.01, startRate: 100, maxRate: 500, precision: 0.05, maxSteps: 20);

        var result = await search.RunAsync(Server(10_000), null, CancellationToken.None);

        Assert.Equal(500, result.MaxRate);
        Assert.Equal([100.0, 200, 400, 500], result.Steps.Select(s => s.Rate));
    }

    [Fact]
    public async Task RunAsync_StartRateFails_SearchesDownwards()
    {
        var search = new MaxRateSearch(10, 0.01, startRate: 1000, maxRate: 100_000, precision: 0.05, maxSteps: 20);

        var result = await search.RunAsync(Server(300), null, CancellationToken.None);

        Assert.InRange(result.MaxRate!.Value, 285, 300);
    }

    [Fact]
    public async Task RunAsync_NothingPasses_AnswersNullWithinTheStepBudget()
    {
        var search = new MaxRateSearch(10, 0.01, startRate: 100, maxRate: 1000, precision: 0.05, maxSteps: 6);

        var result = await search.RunAsync((_, _) => Task.FromResult(new StepMeasurement(0, 0, 0, 1, 0)), null, CancellationToken.None);

        Assert.Null(result.MaxRate);
        Assert.Equal(6, result.Steps.Count);
    }

    [Fact]
    public void Judge_ServerFallingBehind_FailsOnThroughputEvenWithAGoodP99()
    {
        var search = new MaxRateSearch(10, 0.01, 100, 1000, 0.05, 20);

        var step = search.Judge(1, 1000, new StepMeasurement(800, 1, 5, 0, 8000));

        Assert.False(step.Passed);
        Assert.StartsWith("throughput 800 <", step.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public void Judge_TooManyErrors_Fails()
    {
        var search = new MaxRateSearch(10, 0.01, 100, 1000, 0.05, 20);

        Assert.False(search.Judge(1, 100, new StepMeasurement(100, 1, 5, 0.02, 1000)).Passed);
        Assert.True(search.Judge(1, 100, new StepMeasurement(100, 1, 5, 0.01, 1000)).Passed);
    }
}
