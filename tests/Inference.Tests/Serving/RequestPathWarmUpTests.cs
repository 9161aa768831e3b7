using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Inference.Residency;
using ServingGateway.Inference.Serving;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Tests.Repository;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Serving;

/// <summary>The warm-up of the request path that readiness waits for.</summary>
public sealed class RequestPathWarmUpTests : IDisposable
{
    private readonly TempModelRepository _models = new("types", "dynamic", "mlp", "lookup", "fixed", "versioned");
    private readonly ModelRepository _repository;

    public RequestPathWarmUpTests()
    {
        _repository = Repositories.Create(_models.Path, new NodeMetrics(), TimeProvider.System);
    }

    public void Dispose()
    {
        _repository.Dispose();
        _models.Dispose();
    }

    private List<ModelHost> ReadyVersions() =>
        [.. _repository.GetIndex().Where(r => r.State == "READY").DistinctBy(r => r.Name).SelectMany(r => _repository.GetReady(r.Name)!)];

    [Fact]
    public async Task RunOnce_EveryTestModel_DecodesAndEncodesWithoutRunningOrCounting()
    {
        await _repository.LoadAllAsync(CancellationToken.None);
        var versions = ReadyVersions();

        foreach (var version in versions)
        {
            RequestPathWarmUp.RunOnce(version);
        }

        Assert.Contains(versions, v => v.ModelName == "types");
        Assert.True(versions.Count >= 6, $"{versions.Count} versions ready");
        Assert.All(versions, v =>
        {
            Assert.Equal(0, v.Statistics.ExecutionCount);
            Assert.Equal(0, v.Statistics.Success.Count);
            Assert.Equal(0, v.Statistics.CacheMiss.Count);
        });
    }

    [Fact]
    public async Task Execute_ModelsLoadedLater_CompleteOnlyAfterTheyLoadAndTheRoundsRan()
    {
        var time = new FakeTimeProvider();
        using var warmUp = new RequestPathWarmUp(_repository, time, NullLogger<RequestPathWarmUp>.Instance);
        await warmUp.StartAsync(CancellationToken.None);
        for (var i = 0; i < 20; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Yield();
        }

        var completeBeforeLoad = warmUp.IsComplete;
        await _repository.LoadAllAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var advanced = TimeSpan.Zero;
        while (!warmUp.IsComplete && DateTime.UtcNow < deadline)
        {
            time.Advance(TimeSpan.FromMilliseconds(50));
            advanced += TimeSpan.FromMilliseconds(50);
            await Task.Delay(5);
        }

        Assert.False(completeBeforeLoad);
        Assert.True(warmUp.IsComplete, "the warm-up never completed");
        Assert.True(advanced >= TimeSpan.FromMilliseconds(300), $"completed after {advanced.TotalMilliseconds} ms of rounds: at least two rounds of 150 ms");
        await warmUp.StopAsync(CancellationToken.None);
    }
}
