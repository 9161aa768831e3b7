using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Serving;
using ServingGateway.Inference.Tests.Repository;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Serving;

/// <summary>
/// The serving pipeline with a cache that does not pay (Cache:PauseUnprofitable): with every body distinct the
/// cache pauses and all but one request in 16 skip it; when the workload turns repetitive the sample's hits turn
/// it back on. Requests go through <see cref="InferencePipeline.InferAsync"/> as the endpoint sends them, one a
/// millisecond of a fake clock that also moves one microsecond each time it is read, so that every measured cost
/// is the number of clock reads it spans: a lookup costs microseconds, a computed response more.
/// </summary>
public sealed class CachePauseTests : IAsyncLifetime
{
    private const string Model = "dynamic";
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(1);
    private readonly TempModelRepository _models = new(Model);
    private readonly FakeTimeProvider _time = new() { AutoAdvanceAmount = TimeSpan.FromMicroseconds(1) };
    private readonly NodeMetrics _metrics = new();
    private readonly CacheOptions _cacheOptions = new();
    private ModelRepository _repository = null!;
    private PredictionCache _cache = null!;
    private InferencePipeline _pipeline = null!;
    private int _distinct;

    public async Task InitializeAsync()
    {
        _models.WriteConfig(Model, """{"max_batch_size": 16, "cache": {"enable": true}}""");
        _repository = Repositories.Create(_models.Path, _metrics, TimeProvider.System);
        await _repository.LoadAllAsync(CancellationToken.None);
        _cache = new PredictionCache(Options.Create(_cacheOptions), _metrics, _time, NullLogger<PredictionCache>.Instance);
        _pipeline = new InferencePipeline(_repository, _cache, _metrics, new RequestBodyBudget(1024 * 1024), Options.Create(new InferenceOptions()),
            Options.Create(_cacheOptions), _time, NullLogger<InferencePipeline>.Instance);
    }

    public Task DisposeAsync()
    {
        _cache.Dispose();
        _repository.Dispose();
        _models.Dispose();
        return Task.CompletedTask;
    }

    private static string Body(int a, int b) =>
        string.Create(CultureInfo.InvariantCulture, $$"""{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[{{a}},{{b}},0.5]}]}""");

    private async Task<CacheOutcome> InferAsync(string json)
    {
        _time.Advance(Step);
        var bytes = Encoding.UTF8.GetBytes(json);
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = bytes.Length;
        context.Request.Body = new MemoryStream(bytes);
        using var reply = await _pipeline.InferAsync(Model, null, context.Request, CancellationToken.None);
        return reply.Outcome;
    }

    private async Task<Dictionary<CacheOutcome, int>> SendAsync(int requests, int repeatPercent = 0)
    {
        var outcomes = new Dictionary<CacheOutcome, int>();
        for (var i = 0; i < requests; i++)
        {
            // A hot set of 5 bodies for the repeats; the others are all new.
            var json = i % 100 < repeatPercent ? Body(-1, i % 5) : Body(++_distinct, 7);
            var outcome = await InferAsync(json);
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        return outcomes;
    }

    private CacheLookupGate Gate => _repository.GetReady(Model)![0].LookupGate;

    private long Executions => _repository.GetReady(Model)![0].Statistics.ExecutionCount;

    [Fact]
    public async Task InferAsync_DistinctBodies_PausedAndOnlyOneInSixteenLooksUp()
    {
        var first = await SendAsync(1200); // past one window of 1 s
        Assert.True(Gate.Paused, $"outcomes {string.Join(", ", first)}");

        var skippedBefore = await SkippedAsync();
        var paused = await SendAsync(1600);

        Assert.Equal(1500, paused.GetValueOrDefault(CacheOutcome.Paused));
        Assert.Equal(100, paused.GetValueOrDefault(CacheOutcome.Miss));
        Assert.Equal([CacheOutcome.Paused, CacheOutcome.Miss], paused.Keys.Order());
        Assert.True(Gate.Paused);
        Assert.Equal(1500, await SkippedAsync() - skippedBefore);
    }

    [Fact]
    public async Task InferAsync_RepeatsAppearWhilePaused_ResumedWithinTwoWindowsAndHits()
    {
        await SendAsync(1200);
        Assert.True(Gate.Paused);

        // 90% repeats: the sample (1 in 16) sights the hot bodies, stores them on their second sampled sighting and
        // hits from the third; the first window with enough of those hits turns the cache on.
        var resumedAfter = 0;
        while (Gate.Paused && resumedAfter < 2 * 1000 + CacheLookupGate.DecisionSamples * _cacheOptions.PausedSampleEvery)
        {
            await SendAsync(1, repeatPercent: 100);
            resumedAfter++;
        }

        Assert.False(Gate.Paused, "still paused after the repeats began");
        Assert.True(resumedAfter * Step <= TimeSpan.FromSeconds(2) + (CacheLookupGate.DecisionSamples * _cacheOptions.PausedSampleEvery * Step), $"resumed after {resumedAfter} ms");
        var executions = Executions;
        var on = await SendAsync(1000, repeatPercent: 90);
        Assert.True(on.GetValueOrDefault(CacheOutcome.HitMemory) >= 850, $"outcomes {string.Join(", ", on)}");
        Assert.Equal(0, on.GetValueOrDefault(CacheOutcome.Paused));
        Assert.True(Executions - executions <= 150, $"{Executions - executions} model runs for 1000 requests");
    }

    [Fact]
    public async Task InferAsync_PauseUnprofitableOff_EveryRequestLooksUp()
    {
        _cacheOptions.PauseUnprofitable = false;
        var pipeline = new InferencePipeline(_repository, _cache, _metrics, new RequestBodyBudget(1024 * 1024), Options.Create(new InferenceOptions()),
            Options.Create(_cacheOptions), _time, NullLogger<InferencePipeline>.Instance);
        _pipeline = pipeline;

        var outcomes = await SendAsync(2500);

        Assert.Equal(2500, outcomes.GetValueOrDefault(CacheOutcome.Miss) + outcomes.GetValueOrDefault(CacheOutcome.HitMemory));
        Assert.False(Gate.Paused);
    }

    // sg_cache_skipped_total of the model, as /metrics exports it (0 before the first skip).
    private async Task<long> SkippedAsync()
    {
        using var stream = new MemoryStream();
        await _metrics.Registry.CollectAndExportAsTextAsync(stream);
        const string Sample = "sg_cache_skipped_total{model=\"dynamic\"} ";
        var line = Encoding.UTF8.GetString(stream.ToArray()).Split('\n').SingleOrDefault(l => l.StartsWith(Sample, StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line[Sample.Length..], CultureInfo.InvariantCulture);
    }
}
