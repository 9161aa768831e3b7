using Microsoft.Extensions.Time.Testing;
using ServingGateway.LoadTool.Load;
using ServingGateway.LoadTool.Results;

namespace ServingGateway.LoadTool.Tests.Load;

public sealed class OpenLoopRunnerTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task RunAsync_OneSlowRequest_OthersStillLeaveOnScheduleAndLatencyRunsFromIntendedTime()
    {
        // 10 req/s for 1 s; request 3 (due at 300 ms) is answered at 600 ms, all others at once.
        var slow = new TaskCompletionSource<RequestOutcome>();
        var sentAt = new List<TimeSpan>();
        var start = _time.GetTimestamp();
        Task<RequestOutcome> Send(long index, CancellationToken _)
        {
            sentAt.Add(_time.GetElapsedTime(start));
            return index == 3 ? slow.Task : Task.FromResult(Ok());
        }

        var recorder = new LatencyRecorder(_time, start, TimeSpan.FromSeconds(1), ["m"]);
        var runner = new OpenLoopRunner(ArrivalSchedule.Constant(10, TimeSpan.FromSeconds(1)), _time, 100, Send, recorder, start);

        var run = runner.RunAsync(start, CancellationToken.None);
        Advance(TimeSpan.FromMilliseconds(600));
        await Release(slow);
        Advance(TimeSpan.FromMilliseconds(400));
        var stats = await run;

        var summary = recorder.Summarize(_time.GetTimestamp(), stoppedEarly: false);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => TimeSpan.FromMilliseconds(100 * i)), sentAt);
        Assert.Equal(10, summary.Responses);
        Assert.Equal(300, summary.Latency.MaxMs, 0);
        Assert.Equal(0, stats.LateSends);
        Assert.Equal(2, stats.PeakInFlight);
    }

    [Fact]
    public async Task RunAsync_InFlightCapReached_HeldBackRequestsCountAsLateAndKeepTheirIntendedTime()
    {
        // Cap 1: request 0 holds the only slot until 350 ms, so requests 1, 2, 3 (due at 100,
        // 200, 300 ms) leave at 350 ms, late, with latencies 250, 150, 50 ms.
        var slow = new TaskCompletionSource<RequestOutcome>();
        var start = _time.GetTimestamp();
        Task<RequestOutcome> Send(long index, CancellationToken _) => index == 0 ? slow.Task : Task.FromResult(Ok());
        var recorder = new LatencyRecorder(_time, start, TimeSpan.FromSeconds(1), ["m"]);
        var runner = new OpenLoopRunner(ArrivalSchedule.Constant(10, TimeSpan.FromSeconds(1)), _time, 1, Send, recorder, start);

        var run = runner.RunAsync(start, CancellationToken.None);
        Advance(TimeSpan.FromMilliseconds(350));
        await Release(slow);
        Advance(TimeSpan.FromMilliseconds(650));
        var stats = await run;

        var summary = recorder.Summarize(_time.GetTimestamp(), stoppedEarly: false);
        Assert.Equal(10, summary.Responses);
        Assert.Equal(3, stats.LateSends);
        Assert.True(stats.CapHits >= 1);
        Assert.Equal(350, summary.Latency.MaxMs, 0);
        Assert.Equal(250, summary.Latency.PercentileMs(90), 0);
        Assert.Equal(150, summary.Latency.PercentileMs(80), 0);
    }

    [Fact]
    public async Task RunAsync_Warmup_RequestsDueBeforeMeasurementAreNotRecorded()
    {
        var start = _time.GetTimestamp();
        var measureStart = start + _time.TimestampFrequency; // 1 s of warm-up
        var schedule = ArrivalSchedule.Constant(10, TimeSpan.FromSeconds(1)).WithWarmup(10, TimeSpan.FromSeconds(1));
        var recorder = new LatencyRecorder(_time, measureStart, TimeSpan.FromSeconds(1), ["m"]);
        var runner = new OpenLoopRunner(schedule, _time, 100, (_, _) => Task.FromResult(Ok()), recorder, measureStart);

        var run = runner.RunAsync(start, CancellationToken.None);
        Advance(TimeSpan.FromSeconds(2));
        var stats = await run;

        var summary = recorder.Summarize(_time.GetTimestamp(), stoppedEarly: false);
        Assert.Equal(10, summary.WarmupRequests);
        Assert.Equal(10, summary.Finished);
        Assert.Equal(10, stats.Scheduled);
    }

    [Fact]
    public async Task RunAsync_Cancelled_StopsSendingAndReturns()
    {
        var sent = 0;
        var start = _time.GetTimestamp();
        var recorder = new LatencyRecorder(_time, start, TimeSpan.FromSeconds(10), ["m"]);
        var runner = new OpenLoopRunner(ArrivalSchedule.Constant(10, TimeSpan.FromSeconds(10)), _time, 100,
            (_, _) => { sent++; return Task.FromResult(Ok()); }, recorder, start);
        using var cancellation = new CancellationTokenSource();

        var run = runner.RunAsync(start, cancellation.Token);
        Advance(TimeSpan.FromMilliseconds(450));
        await cancellation.CancelAsync();
        await run;
        Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(5, sent);
    }

    // Completes the slow send off the test thread: xUnit's synchronization context would otherwise
    // post the runner's continuation instead of running it at this instant of fake time.
    private static Task Release(TaskCompletionSource<RequestOutcome> slow) => Task.Run(() => slow.SetResult(Ok()));

    private static RequestOutcome Ok() => new(0, 200, null, "miss", "node-1");

    // Advances in 1 ms steps, as a real clock would pass every due time.
    private void Advance(TimeSpan by)
    {
        for (var i = 0; i < (int)by.TotalMilliseconds; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }
    }
}
