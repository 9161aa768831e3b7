using Microsoft.Extensions.Time.Testing;
using ServingGateway.LoadTool.Load;
using ServingGateway.LoadTool.Results;

namespace ServingGateway.LoadTool.Tests.Load;

public sealed class ClosedLoopRunnerTests
{
    [Fact]
    public async Task RunAsync_OneClient_SendsBackToBackAndMeasuresFromTheActualSend()
    {
        // Each answer takes 10 ms (the fake sender moves the clock); 0.5 s warm-up + 1 s measured.
        var time = new FakeTimeProvider();
        var start = time.GetTimestamp();
        var measureStart = start + (time.TimestampFrequency / 2);
        var recorder = new LatencyRecorder(time, measureStart, TimeSpan.FromSeconds(1), ["m"]);
        Task<RequestOutcome> Send(long index, CancellationToken _)
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            return Task.FromResult(new RequestOutcome(0, 200, null, null, null));
        }

        var runner = new ClosedLoopRunner(1, TimeSpan.FromSeconds(1.5), time, Send, recorder);

        await runner.RunAsync(start, CancellationToken.None);

        var summary = recorder.Summarize(time.GetTimestamp(), stoppedEarly: false);
        Assert.Equal(50, summary.WarmupRequests);
        Assert.Equal(100, summary.Finished);
        Assert.Equal(10, summary.Latency.PercentileMs(50), 1);
        Assert.Equal(10, summary.Latency.MaxMs, 1);
        Assert.Null(summary.OpenLoop);
    }
}
