using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Serving;
using ServingGateway.Inference.Tests.Repository;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Serving;

/// <summary>The serving pipeline's prediction path, the cache in front of real model versions: hits, single flight, admission, TTL.</summary>
public sealed class PredictionCacheTests : IAsyncLifetime
{
    private const string SlowRequest = """{"inputs":[{"name":"x","shape":[1,512],"datatype":"FP32","data":[PLACEHOLDER]}]}""";
    private readonly TempModelRepository _models = new("slow", "lookup", "dynamic");
    private readonly FakeTimeProvider _time = new();
    private ModelRepository _repository = null!;
    private PredictionCache _cache = null!;
    private InferencePipeline _pipeline = null!;

    public async Task InitializeAsync()
    {
        _models.WriteConfig("slow", """{"max_batch_size": 1, "instances": 1, "max_queue_rows": 64, "cache": {"enable": true, "ttl_seconds": 60, "admission": "always"}}""");
        _models.WriteConfig("lookup", """{"max_batch_size": 8, "instances": 1, "cache": {"enable": true, "admission": "always"}}""");
        _models.AddVersion("auto", 1, "dynamic", 1);
        _models.WriteConfig("auto", """{"max_batch_size": 16, "cache": {"enable": true}}""");
        _models.WriteConfig("dynamic", """{"max_batch_size": 16, "cache": {"enable": true, "admission": "second-hit"}}""");
        var metrics = new NodeMetrics();
        _repository = Repositories.Create(_models.Path, metrics, TimeProvider.System);
        await _repository.LoadAllAsync(CancellationToken.None);
        _cache = new PredictionCache(Options.Create(new CacheOptions()), metrics, _time, NullLogger<PredictionCache>.Instance);
        _pipeline = new InferencePipeline(_repository, _cache, metrics, new RequestBodyBudget(1024 * 1024), Options.Create(new InferenceOptions()),
            Options.Create(new CacheOptions()), _time, NullLogger<InferencePipeline>.Instance);
    }

    public Task DisposeAsync()
    {
        _cache.Dispose();
        _repository.Dispose();
        _models.Dispose();
        return Task.CompletedTask;
    }

    private static string Slow(float value) =>
        SlowRequest.Replace("PLACEHOLDER", string.Join(",", Enumerable.Repeat(value.ToString(System.Globalization.CultureInfo.InvariantCulture), 512)), StringComparison.Ordinal);

    private async Task<(float[] Output, CacheOutcome Outcome)> InferAsync(string model, string json)
    {
        var version = _repository.Acquire(model, null);
        try
        {
            using var request = InferRequestReader.Read(Encoding.UTF8.GetBytes(json), null, version.Signature);
            var (outputs, outcome) = await _pipeline.PredictAsync(version, request, CancellationToken.None);
            try
            {
                return (MemoryMarshal.Cast<byte, float>(outputs[0].Span).ToArray(), outcome);
            }
            finally
            {
                foreach (var output in outputs)
                {
                    output.Dispose();
                }
            }
        }
        finally
        {
            version.Release();
        }
    }

    [Fact]
    public async Task Infer_Repeated_MissThenHitMemoryWithTheSameOutputs()
    {
        var first = await InferAsync("slow", Slow(0.25f));
        var second = await InferAsync("slow", Slow(0.25f));

        Assert.Equal(CacheOutcome.Miss, first.Outcome);
        Assert.Equal(CacheOutcome.HitMemory, second.Outcome);
        Assert.Equal(first.Output, second.Output);
        var stats = _repository.GetReady("slow")![0].Statistics;
        Assert.Equal(1, stats.CacheHit.Count);
        Assert.Equal(1, stats.CacheMiss.Count);
        Assert.Equal(1, stats.ExecutionCount);
    }

    [Fact]
    public async Task Infer_ConcurrentIdenticalMisses_RunTheModelOnce()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => InferAsync("slow", Slow(0.75f)))));

        Assert.Equal(1, _repository.GetReady("slow")![0].Statistics.ExecutionCount);
        Assert.All(results, r => Assert.Equal(results[0].Output, r.Output));
        Assert.All(results, r => Assert.True(r.Outcome is CacheOutcome.Miss or CacheOutcome.HitMemory));
    }

    [Fact]
    public async Task Infer_ConcurrentIdenticalBadInputs_EveryWaiterGetsTheSameError()
    {
        const string Bad = """{"inputs":[{"name":"ids","shape":[1,2],"datatype":"INT64","data":[9,9]}]}""";

        var attempts = Enumerable.Range(0, 8).Select(_ => Task.Run(() => InferAsync("lookup", Bad))).ToArray();

        foreach (var attempt in attempts)
        {
            var ex = await Assert.ThrowsAsync<InferenceException>(() => attempt);
            Assert.Equal(400, ex.StatusCode);
            Assert.Contains("could not run on this input", ex.Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, _repository.GetReady("lookup")![0].Statistics.ExecutionCount);
    }

    [Fact]
    public async Task Infer_SecondHitAdmission_StoresOnlyOnTheSecondMiss()
    {
        const string Request = """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}""";

        var outcomes = new List<CacheOutcome>();
        for (var i = 0; i < 3; i++)
        {
            outcomes.Add((await InferAsync("dynamic", Request)).Outcome);
        }

        Assert.Equal([CacheOutcome.Miss, CacheOutcome.Miss, CacheOutcome.HitMemory], outcomes);
    }

    [Fact]
    public async Task Infer_TimeToLivePassed_MissesAgain()
    {
        Assert.Equal(CacheOutcome.Miss, (await InferAsync("slow", Slow(2))).Outcome);
        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(CacheOutcome.HitMemory, (await InferAsync("slow", Slow(2))).Outcome);

        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(CacheOutcome.Miss, (await InferAsync("slow", Slow(2))).Outcome);
    }

    [Fact]
    public async Task Infer_CacheOff_Bypasses()
    {
        _models.WriteConfig("dynamic", """{"max_batch_size": 16}""");
        await _repository.LoadAsync("dynamic", CancellationToken.None);

        var result = await InferAsync("dynamic", """{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[5]}]}""");

        Assert.Equal(CacheOutcome.Bypass, result.Outcome);
        Assert.Equal([10f], result.Output);
    }

    private static string Auto(int seed) =>
        $$"""{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[{{seed}},{{seed + 1}},{{seed + 2}}]}]}""";

    private async Task<List<CacheOutcome>> OutcomesAsync(string model, string json, int times)
    {
        var outcomes = new List<CacheOutcome>();
        for (var i = 0; i < times; i++)
        {
            outcomes.Add((await InferAsync(model, json)).Outcome);
        }

        return outcomes;
    }

    private void MeasuredCosts(string model, double savedNanoseconds, double lookupNanoseconds, double storeNanoseconds)
    {
        var costs = _repository.GetReady(model)![0].PredictionCosts;
        for (var i = 0; i < CacheCostMeter.WarmUpSamples; i++)
        {
            costs.RecordSaved(savedNanoseconds);
            costs.RecordLookup(lookupNanoseconds);
            costs.RecordStore(storeNanoseconds);
        }
    }

    [Fact]
    public async Task Infer_DefaultAdmission_DistinctInputsNotStoredRepeatedOneStored()
    {
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(CacheOutcome.Miss, (await InferAsync("auto", Auto(i * 10))).Outcome);
        }

        Assert.Equal(0, _cache.Memory.Count);
        Assert.Equal(CacheOutcome.Miss, (await InferAsync("auto", Auto(-100))).Outcome);
        Assert.Equal(CacheOutcome.Miss, (await InferAsync("auto", Auto(-100))).Outcome);
        Assert.Equal(1, _cache.Memory.Count);
        Assert.Equal(CacheOutcome.HitMemory, (await InferAsync("auto", Auto(-100))).Outcome);
    }

    [Fact]
    public async Task Infer_DefaultAdmissionComputeCheaperThanTheCache_RepeatedInputNotStored()
    {
        // The fake clock does not move while the model runs: what the cache measured before is that the
        // model took 1 us per request while a lookup and a store took 10 us each.
        MeasuredCosts("auto", savedNanoseconds: 1_000, lookupNanoseconds: 10_000, storeNanoseconds: 10_000);

        var outcomes = await OutcomesAsync("auto", Auto(7), times: 4);

        Assert.Equal([CacheOutcome.Miss, CacheOutcome.Miss, CacheOutcome.Miss, CacheOutcome.Miss], outcomes);
        Assert.Equal(0, _cache.Memory.Count);
    }

    [Fact]
    public async Task Infer_DefaultAdmissionComputeDearerThanTheCache_RepeatedInputStored()
    {
        MeasuredCosts("auto", savedNanoseconds: 1_000_000, lookupNanoseconds: 1_000, storeNanoseconds: 1_000);

        var outcomes = await OutcomesAsync("auto", Auto(9), times: 3);

        Assert.Equal([CacheOutcome.Miss, CacheOutcome.Miss, CacheOutcome.HitMemory], outcomes);
    }
}
