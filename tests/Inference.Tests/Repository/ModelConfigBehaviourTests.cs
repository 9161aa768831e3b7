using Microsoft.Extensions.Time.Testing;
using ServingGateway.Batching;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Repository;

/// <summary>
/// The batching keys of config.json change what a loaded version does, not only what is parsed:
/// max_queue_delay_ms, preferred_batch_sizes, default_priority_level and latency_slo_ms, each against the
/// same model without the key (or with another value), on a fake clock.
/// </summary>
public sealed class ModelConfigBehaviourTests : IAsyncLifetime
{
    private static readonly string OneRow = """{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]}""";
    private readonly FakeTimeProvider _time = new();
    private readonly TempModelRepository _models = new();
    private ModelRepository _repository = null!;

    public async Task InitializeAsync()
    {
        // Copies of 'dynamic' (y = 2x), one instance each, differing only in the key under test.
        Add("delay_default", """{"max_batch_size": 8, "instances": 1, "batching": "fixed"}""");
        Add("delay_100", """{"max_batch_size": 8, "instances": 1, "batching": "fixed", "max_queue_delay_ms": 100}""");
        Add("preferred_none", """{"max_batch_size": 8, "instances": 1, "batching": "fixed", "max_queue_delay_ms": 1000}""");
        Add("preferred_2", """{"max_batch_size": 8, "instances": 1, "batching": "fixed", "max_queue_delay_ms": 1000, "preferred_batch_sizes": [2]}""");
        Add("default_first", """{"max_batch_size": 3, "instances": 1, "batching": "fixed", "max_queue_delay_ms": 100, "priority_levels": 2, "default_priority_level": 1}""");
        Add("default_last", """{"max_batch_size": 3, "instances": 1, "batching": "fixed", "max_queue_delay_ms": 100, "priority_levels": 2, "default_priority_level": 2}""");
        Add("slo_6", """{"max_batch_size": 32, "instances": 1, "max_queue_delay_ms": 50, "latency_slo_ms": 6}""");
        Add("slo_200", """{"max_batch_size": 32, "instances": 1, "max_queue_delay_ms": 50, "latency_slo_ms": 200}""");
        Add("overload_deadline", """{"max_batch_size": 4, "instances": 1, "batching": "off", "latency_slo_ms": 50, "overload": {"policy": "deadline", "slo_factor": 3}}""");
        _repository = Repositories.Create(_models.Path, new NodeMetrics(), _time);
        await _repository.LoadAllAsync(CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        _repository.Dispose();
        _models.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task MaxQueueDelayMs_FixedMode_LoneRequestWaitsThatLong()
    {
        var atDefault = InferAsync("delay_default", OneRow);
        var at100 = InferAsync("delay_100", OneRow);
        await PollAsync(() => Version("delay_default").QueuedRows == 1 && Version("delay_100").QueuedRows == 1);

        var waited = await FakeClockSteps.AdvanceUntilAsync(_time, () => atDefault.IsCompleted, "delay_default to be answered (default delay 5 ms)");
        Assert.Equal(new[] { 2f }, await atDefault);
        Assert.InRange(waited, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(99)); // its 5 ms, not delay_100's 100

        Assert.False(at100.IsCompleted);
        Assert.Equal(1, Version("delay_100").QueuedRows);
        waited += await FakeClockSteps.AdvanceUntilAsync(_time, () => at100.IsCompleted, "delay_100 to be answered after 100 ms");
        Assert.Equal(new[] { 2f }, await at100);
        Assert.True(waited >= TimeSpan.FromMilliseconds(100), $"delay_100 answered after {waited.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task PreferredBatchSizes_FixedMode_DispatchesThatSizeWithoutWaiting()
    {
        var preferred = new[] { InferAsync("preferred_2", OneRow), InferAsync("preferred_2", OneRow) };
        var none = new[] { InferAsync("preferred_none", OneRow), InferAsync("preferred_none", OneRow) };

        // No time passes: the preferred size goes at once, in one batch of 2.
        Assert.All(await Poll.DoneAsync(Task.WhenAll(preferred), "two rows of preferred_2 with no time passing (preferred size 2)"), r => Assert.Equal([2f], r));
        Assert.Equal(1, Version("preferred_2").Statistics.BySize[2].ComputeInfer.Count);
        Assert.Equal(1, Version("preferred_2").Statistics.ExecutionCount);

        // Without the key the same two requests wait for the 1000 ms delay.
        await PollAsync(() => Version("preferred_none").QueuedRows == 2);
        Assert.DoesNotContain(none, t => t.IsCompleted);
        var waited = await FakeClockSteps.AdvanceUntilAsync(_time, () => none.All(t => t.IsCompleted), "two rows of preferred_none to be answered after its 1000 ms delay");
        Assert.All(await Task.WhenAll(none), r => Assert.Equal([2f], r));
        Assert.True(waited >= TimeSpan.FromMilliseconds(1000), $"preferred_none answered after {waited.TotalMilliseconds} ms");
    }

    [Theory]
    [InlineData("default_first", "without")]
    [InlineData("default_last", "with")]
    public async Task DefaultPriorityLevel_DecidesWhoGoesFirst(string model, string first)
    {
        // Two 2-row requests cannot share a 3-row batch: the more urgent goes now, the other waits for the
        // 100 ms delay. "without" sends no priority (default_priority_level), "with" sends priority 1 and is
        // newer: it goes first only when the default is the lower level 2.
        var without = InferAsync(model, TwoRows(priority: null));
        await PollAsync(() => Version(model).QueuedRows == 2);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var with = InferAsync(model, TwoRows(priority: 1));

        var expectedFirst = first == "with" ? with : without;
        var expectedLast = first == "with" ? without : with;
        Assert.Equal(new[] { 2f, 4f }, await Poll.DoneAsync(expectedFirst, $"the '{first}' request of {model} with no time passing (it should go first)"));
        Assert.False(expectedLast.IsCompleted);
        Assert.Equal(2, Version(model).QueuedRows);
        var waited = await FakeClockSteps.AdvanceUntilAsync(_time, () => expectedLast.IsCompleted, $"the other request of {model} to be answered after the 100 ms delay");
        Assert.Equal(new[] { 2f, 4f }, await expectedLast);
        Assert.True(waited >= TimeSpan.FromMilliseconds(99), $"answered {waited.TotalMilliseconds} ms after the first (the delay runs from 1 ms before it)");
    }

    [Fact]
    public void LatencySloMs_AdaptiveMode_BoundsTheWaitForMoreRows()
    {
        // The options each version gives its batcher, driven through the same scheduler on a fake clock,
        // where waiting pays (rows keep coming, bigger batches cheaper per row): the SLO ends the wait.
        var waitedAt6 = DispatchDelayMs(Version("slo_6").Batching);
        var waitedAt200 = DispatchDelayMs(Version("slo_200").Batching);

        Assert.True(waitedAt6 <= 2, $"latency_slo_ms 6 (4 ms a batch) should wait at most 2 ms; it waited {waitedAt6} ms");
        Assert.True(waitedAt200 > 2, $"latency_slo_ms 200 should wait longer than 2 ms; it waited {waitedAt200} ms");
        Assert.True(waitedAt200 <= 50, $"max_queue_delay_ms 50 bounds every wait; it waited {waitedAt200} ms");
    }

    [Fact]
    public void Overload_ConfigReachesTheBatcher()
    {
        // The policy's behaviour is the batcher's (Batching.Tests: DynamicBatcherOverloadTests, CoDelTests); here, that
        // config.json's "overload" is what each version's batcher runs with, that a model without it runs the deadline
        // policy, and that its SLO makes deadlines only where config.json named one.
        var options = Version("overload_deadline").Batching;

        Assert.Equal((OverloadPolicy.Deadline, 3.0, 25.0, 100.0), (options.Overload, options.SloFactor, options.CoDelTarget.TotalMilliseconds, options.CoDelInterval.TotalMilliseconds));
        Assert.True(options.HasLatencySlo);
        Assert.Equal((OverloadPolicy.Deadline, true), (Version("slo_6").Batching.Overload, Version("slo_6").Batching.HasLatencySlo));
        Assert.Equal((OverloadPolicy.Deadline, false), (Version("delay_default").Batching.Overload, Version("delay_default").Batching.HasLatencySlo));
        Assert.Equal(long.MaxValue, Version("delay_default").Batching.DeadlineOf(0, null, TimeProvider.System.TimestampFrequency));
    }

    private static string TwoRows(int? priority) =>
        $$"""{"inputs":[{"name":"x","shape":[2,1],"datatype":"FP32","data":[1,2]}]{{(priority is null ? "" : $",\"parameters\":{{\"priority\":{priority}}}")}}}""";

    private void Add(string name, string config)
    {
        _models.AddVersion(name, 1, "dynamic", 1);
        _models.WriteConfig(name, config);
    }

    private ModelHost Version(string model) => _repository.GetReady(model)![0];

    private Task<float[]> InferAsync(string model, string json) => RepositoryInference.InferAsync(_repository, model, json);

    // How long (fake ms) a lone row waits for company under these options, once the scheduler has learnt that
    // rows arrive every 0.1 ms while others wait and that a batch of 8 to 32 rows takes 4 ms (1 row: 1 ms).
    private double DispatchDelayMs(BatchingOptions options)
    {
        var time = new FakeTimeProvider();
        long Ms(double ms) => (long)(ms * time.TimestampFrequency / 1000);
        var scheduler = new BatchScheduler<string, int>(options, time.TimestampFrequency);
        var dispatch = new List<BatchEntry<string, int>[]>();
        var dropped = new List<BatchEntry<string, int>>();
        BatchEntry<string, int> Entry() => new("r", 1, "k", 0, time.GetTimestamp(), long.MaxValue, CancellationToken.None);
        long Schedule()
        {
            dispatch.Clear();
            return scheduler.Schedule(time.GetTimestamp(), dispatch, dropped);
        }

        scheduler.Release(1, Ms(1));
        scheduler.Release(8, Ms(2));
        for (var i = 0; i < 20; i++)
        {
            scheduler.Add(Entry(), time.GetTimestamp());
            time.Advance(TimeSpan.FromMilliseconds(0.1));
        }

        while (scheduler.QueuedRows >= 8)
        {
            Schedule();
            scheduler.Release(8, Ms(2));
        }

        while (scheduler.QueuedRows > 0)
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            Schedule();
            foreach (var batch in dispatch)
            {
                scheduler.Release(batch.Length, Ms(2));
            }
        }

        for (var i = 0; i < 50; i++)
        {
            scheduler.Release(8, Ms(4));
            scheduler.Release(32, Ms(4));
        }

        var head = time.GetTimestamp();
        scheduler.Add(Entry(), head);
        while (true)
        {
            var next = Schedule();
            if (dispatch.Count > 0)
            {
                return (time.GetTimestamp() - head) * 1000.0 / time.TimestampFrequency;
            }

            time.Advance(TimeSpan.FromTicks(Math.Max(1, (next - time.GetTimestamp()) * TimeSpan.TicksPerSecond / time.TimestampFrequency)));
        }
    }

    // A bounded poll of the version's own figures (requests queued); the clock the batcher sees stays fake.
    private static Task PollAsync(Func<bool> condition) =>
        Poll.UntilAsync(condition, "the version's queue to reach the state awaited", TimeSpan.FromSeconds(30));
}
