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
        var search = new MaxRateSearch(sloP99Ms: 10, maxErrorRate: 0.01, startRate: 100, maxRate: 100_000, precision: 0.05, maxSteps: 20);

        var result = await search.RunAsync(Server(1000), null, CancellationToken.None);

        Assert.NotNull(result.MaxRate);
        Assert.InRange(result.MaxRate.Value, 950, 1000);
        // Doubling: 100, 200, 400, 800 pass; 1600 fails; then bisection.
        Assert.Equal([100.0, 200, 400, 800, 1600], result.Steps.Take(5).Select(s => s.Rate));
        Assert.False(result.Steps[4].Passed);
        Assert.Contains("p99 900 ms > 10 ms", result.Steps[4].Verdict, StringComparison.Ordinal);
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
