using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using ServingGateway.Deployments;
using ServingGateway.Deployments.Shadow;
using ServingGateway.TestSupport;

namespace ServingGateway.Gateway.Tests.Deployments.Shadow;

public sealed class ShadowMirroringTests : IAsyncDisposable
{
    private static readonly byte[] Request = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2]}]}""");
    private static readonly byte[] Served = ShadowAnswers.Json(("y", [1, 2], [2f, 4f]));
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly FakeTimeProvider _time = new();
    private readonly FakeRunner _runner = new();
    private readonly FakeResults _results = new();
    private ShadowMirroring? _mirroring;

    public async ValueTask DisposeAsync()
    {
        _runner.Release.TrySetResult(new ShadowAnswer(500, [], null));
        if (_mirroring is not null)
        {
            await _mirroring.StopAsync(CancellationToken.None);
            _mirroring.Dispose();
        }
    }

    [Fact]
    public async Task TryOffer_ShadowAnswersScaledOutputs_RecordsTheRelativeL2Distance()
    {
        var mirroring = await StartAsync(new ShadowOptions());
        _runner.Answer = _ =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(7)); // the shadow version takes 7 ms
            return new ShadowAnswer(200, ShadowAnswers.Json(("y", [1, 2], [3f, 6f])), null);
        };

        Assert.True(Offer(mirroring));
        await Poll.UntilAsync(() => _results.Divergences.Count == 1, "the comparison recorded");

        Assert.Equal(("m", 3L, 0.5), _results.Divergences.Single());
        Assert.Equal(7d, _results.Milliseconds.Single());
        Assert.Empty(_results.Errors);
        var request = Assert.Single(_runner.Requests);
        Assert.Equal(("m", 3L, "application/json", "12"), (request.Model, request.Version, request.ContentType, request.HeaderLength));
        Assert.Equal(Request, request.Body.ToArray());
        Assert.Equal(1, await CounterAsync("sg_shadow_requests_total{model=\"m\",version=\"3\",outcome=\"compared\"}"));
        Assert.Equal(1, await CounterAsync("sg_shadow_divergence_bucket{model=\"m\",version=\"3\",le=\"0.5\"}"));
        Assert.Equal(0, await CounterAsync("sg_shadow_divergence_bucket{model=\"m\",version=\"3\",le=\"0.2\"}"));
    }

    [Fact]
    public async Task TryOffer_ShadowAnswersOtherOutputNames_RecordsInfinityAndTheMismatch()
    {
        var mirroring = await StartAsync(new ShadowOptions());
        _runner.Answer = _ => new ShadowAnswer(200, ShadowAnswers.Json(("z", [1, 2], [2f, 4f])), null);

        Assert.True(Offer(mirroring));
        await Poll.UntilAsync(() => _results.Divergences.Count == 1, "the comparison recorded");

        Assert.Equal(("m", 3L, double.PositiveInfinity), _results.Divergences.Single());
        Assert.Equal(1, await CounterAsync("sg_shadow_mismatches_total{model=\"m\",version=\"3\",reason=\"names\"}"));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    [InlineData(400)]
    public async Task TryOffer_ShadowAnswersAnErrorStatus_RecordsAnErrorOfTheShadowVersion(int status)
    {
        var mirroring = await StartAsync(new ShadowOptions());
        _runner.Answer = _ => new ShadowAnswer(status, Encoding.UTF8.GetBytes("""{"error":"no"}"""), null);

        Assert.True(Offer(mirroring));
        await Poll.UntilAsync(() => _results.Errors.Count == 1, "the error recorded");

        Assert.Equal(("m", 3L), _results.Errors.Single());
        Assert.Empty(_results.Divergences);
        Assert.Equal(1, await CounterAsync("sg_shadow_requests_total{model=\"m\",version=\"3\",outcome=\"error\"}"));
    }

    [Fact]
    public async Task TryOffer_RunnerThrows_RecordsAnErrorAndKeepsRunning()
    {
        var mirroring = await StartAsync(new ShadowOptions());
        _runner.Answer = _ => throw new InvalidOperationException("boom");

        Assert.True(Offer(mirroring));
        await Poll.UntilAsync(() => _results.Errors.Count == 1, "the error recorded");
        _runner.Answer = _ => new ShadowAnswer(200, Served, null);
        Assert.True(Offer(mirroring));
        await Poll.UntilAsync(() => _results.Divergences.Count == 1, "the next comparison recorded");

        Assert.Equal(("m", 3L, 0d), _results.Divergences.Single());
    }

    [Fact]
    public async Task TryOffer_ShadowSlowerThanTheTimeout_AbandonedAsAnError()
    {
        var mirroring = await StartAsync(new ShadowOptions { TimeoutMs = 1000 });
        _runner.Answer = null; // waits for its cancellation

        Assert.True(Offer(mirroring));
        await Poll.UntilAsync(() => _runner.Requests.Count == 1, "the shadow run started");
        _time.Advance(TimeSpan.FromMilliseconds(999));
        await Task.Yield();
        Assert.Empty(_results.Errors);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await Poll.UntilAsync(() => _results.Errors.Count == 1, "the timeout recorded as an error");

        Assert.Empty(_results.Divergences);
        Assert.Equal(1000d, _results.Milliseconds.Single()); // the shadow run's time on the shadow's clock

    }

    [Fact]
    public async Task TryOffer_QueueFull_DroppedAndCountedWithoutWaiting()
    {
        var mirroring = await StartAsync(new ShadowOptions { QueueCapacity = 2 });
        _runner.Answer = null; // the first run holds the loop until released

        Assert.True(Offer(mirroring));
        await Poll.UntilAsync(() => _runner.Requests.Count == 1, "the first shadow run started");
        Assert.True(Offer(mirroring));
        Assert.True(Offer(mirroring));
        var offered = Task.Run(() => Offer(mirroring));

        // Nothing is consumed while the runner is held: the third offer can only return by not waiting.
        Assert.False(await Poll.DoneAsync(offered, "the offer to a full queue"));
        Assert.False(mirroring.ShouldMirror("m", new ShadowMirror(3, 1)));
        Assert.Equal(2, mirroring.Queued);
        Assert.Equal(2, await CounterAsync("sg_shadow_requests_total{model=\"m\",version=\"3\",outcome=\"dropped\"}"));

        _runner.Answer = _ => new ShadowAnswer(200, Served, null);
        _runner.Release.SetResult(new ShadowAnswer(200, Served, null));
        await Poll.UntilAsync(() => _results.Divergences.Count == 3, "the three queued runs compared");
        Assert.True(Offer(mirroring));
    }

    [Fact]
    public async Task TryOffer_PastTheByteBound_DroppedAndCounted()
    {
        var mirroring = await StartAsync(new ShadowOptions { MaxQueuedBytes = 64 * 1024 });
        _runner.Answer = null;
        Assert.True(Offer(mirroring));
        await Poll.UntilAsync(() => _runner.Requests.Count == 1, "the first shadow run started");
        var big = new byte[40 * 1024];

        Assert.True(mirroring.TryOffer("m", 3, big, "application/json", null, Served, null, 200));
        Assert.False(mirroring.TryOffer("m", 3, big, "application/json", null, Served, null, 200));
        Assert.True(mirroring.TryOffer("m", 3, big.AsSpan(0, 1024), "application/json", null, Served, null, 200));

        Assert.Equal(1, await CounterAsync("sg_shadow_requests_total{model=\"m\",version=\"3\",outcome=\"dropped\"}"));
    }

    [Fact]
    public async Task TryOffer_CallersAnswerNot200_NotQueued()
    {
        var mirroring = await StartAsync(new ShadowOptions());

        Assert.False(mirroring.TryOffer("m", 3, Request, "application/json", null, Encoding.UTF8.GetBytes("""{"error":"x"}"""), null, 400));
        Assert.False(mirroring.TryOffer("m", 3, Request, "application/json", null, Served, "-1", 200));

        Assert.Equal(0, mirroring.Queued);
        Assert.Empty(_runner.Requests);
    }

    [Fact]
    public async Task TryOffer_CallersAnswerUnreadable_SkippedNotRun()
    {
        var mirroring = await StartAsync(new ShadowOptions());

        Assert.True(mirroring.TryOffer("m", 3, Request, "application/json", null, "not json"u8, null, 200));
        await Poll.UntilAsync(async () => await CounterAsync("sg_shadow_requests_total{model=\"m\",version=\"3\",outcome=\"skipped\"}") == 1, "the skip counted");

        Assert.Empty(_runner.Requests);
        Assert.Empty(_results.Errors);
        Assert.Empty(_results.Divergences);
    }

    [Fact]
    public async Task ShouldMirror_SampleRatio_NoneOrAll()
    {
        var mirroring = await StartAsync(new ShadowOptions());

        Assert.All(Enumerable.Range(0, 100), _ => Assert.False(mirroring.ShouldMirror("m", new ShadowMirror(3, 0))));
        Assert.All(Enumerable.Range(0, 100), _ => Assert.True(mirroring.ShouldMirror("m", new ShadowMirror(3, 1))));
    }

    [Fact]
    public async Task ShouldMirror_HalfTheRequests_RoughlyHalfSampled()
    {
        var mirroring = await StartAsync(new ShadowOptions());

        var sampled = Enumerable.Range(0, 10_000).Count(_ => mirroring.ShouldMirror("m", new ShadowMirror(3, 0.5)));

        // Binomial(10000, 0.5): a standard deviation of 50; 8 of them either side fails by chance about never.
        Assert.InRange(sampled, 4600, 5400);
    }

    private bool Offer(ShadowMirroring mirroring) =>
        mirroring.TryOffer("m", 3, Request, "application/json", "12", Served, null, 200);

    private async Task<ShadowMirroring> StartAsync(ShadowOptions options)
    {
        _mirroring = new ShadowMirroring(_runner, [_results], new ShadowMetrics(_registry), Options.Create(options), _time, NullLogger<ShadowMirroring>.Instance);
        await _mirroring.StartAsync(CancellationToken.None);
        return _mirroring;
    }

    // The value of one exported series (0 when it is not exported).
    private async Task<double> CounterAsync(string series)
    {
        using var stream = new MemoryStream();
        await _registry.CollectAndExportAsTextAsync(stream);
        var line = Encoding.UTF8.GetString(stream.ToArray()).Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed class FakeRunner : IShadowRunner
    {
        public System.Collections.Concurrent.ConcurrentQueue<ShadowRequest> Requests { get; } = new();

        /// <summary>The answer to give; null: wait for <see cref="Release"/> or the cancellation.</summary>
        public Func<ShadowRequest, ShadowAnswer>? Answer { get; set; }

        public TaskCompletionSource<ShadowAnswer> Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<ShadowAnswer> RunAsync(ShadowRequest request, CancellationToken cancellationToken)
        {
            Requests.Enqueue(request with { Body = request.Body.ToArray() });
            return Answer is { } answer ? answer(request) : await Release.Task.WaitAsync(cancellationToken);
        }
    }

    private sealed class FakeResults : IShadowResults
    {
        public System.Collections.Concurrent.ConcurrentQueue<(string, long, double)> Divergences { get; } = new();

        public System.Collections.Concurrent.ConcurrentQueue<(string, long)> Errors { get; } = new();

        public System.Collections.Concurrent.ConcurrentQueue<double> Milliseconds { get; } = new();

        public void RecordShadow(string model, long version, double milliseconds, double divergence)
        {
            Milliseconds.Enqueue(milliseconds);
            Divergences.Enqueue((model, version, divergence));
        }

        public void RecordShadowError(string model, long version, double milliseconds)
        {
            Milliseconds.Enqueue(milliseconds);
            Errors.Enqueue((model, version));
        }
    }
}
