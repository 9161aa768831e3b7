using BenchmarkDotNet.Attributes;
using ServingGateway.Batching;

namespace ServingGateway.Benchmarks;

/// <summary>
/// The batcher's own cost per request, from enqueue to completion, with an executor that does nothing
/// but complete: what batching adds on top of running the model.
/// </summary>
[MemoryDiagnoser]
public class BatcherBenchmarks
{
    private const int Burst = 64;
    private static readonly object Key = new();
    private DynamicBatcher<int, int> _batcher = null!;
    private readonly Task<int>[] _burst = new Task<int>[Burst];

    /// <summary>Adaptive batching, or each request alone (mode off).</summary>
    [Params(true, false)]
    public bool Batching { get; set; }

    [GlobalSetup]
    public void Setup() =>
        _batcher = new DynamicBatcher<int, int>(
            new BatchingOptions { MaxBatchRows = 64, MaxQueueRows = 4096, Instances = 2, Mode = Batching ? BatchingMode.Adaptive : BatchingMode.Off },
            static (_, batch) =>
            {
                foreach (var entry in batch)
                {
                    entry.Complete(entry.Request);
                }
            },
            TimeProvider.System);

    [GlobalCleanup]
    public void Cleanup() => _batcher.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>One request alone: the latency the batcher adds to a lone request.</summary>
    [Benchmark]
    public Task<int> OneRequest() => _batcher.EnqueueAsync(1, 1, 0, Key, 0, null, CancellationToken.None);

    /// <summary>64 requests at once, as under load: the cost per request when they batch.</summary>
    [Benchmark(OperationsPerInvoke = Burst)]
    public async Task BurstOf64()
    {
        for (var i = 0; i < Burst; i++)
        {
            _burst[i] = _batcher.EnqueueAsync(i, 1, 0, Key, 0, null, CancellationToken.None);
        }

        await Task.WhenAll(_burst);
    }
}
