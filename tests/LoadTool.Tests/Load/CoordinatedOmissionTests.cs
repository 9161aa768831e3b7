using ServingGateway.LoadTool.Cli;
using ServingGateway.LoadTool.Load;
using ServingGateway.LoadTool.Tests.Infrastructure;
using ServingGateway.LoadTool.Timing;
using ServingGateway.TestSupport;

namespace ServingGateway.LoadTool.Tests.Load;

/// <summary>
/// The coordinated-omission check of issue 6, over real HTTP on loopback: a server that freezes
/// once for 1 s. The open loop keeps sending on schedule and measures from the intended send
/// time, so the ~200 requests due during the stall carry it and p99.9 shows it. The closed loop's
/// clients wait with the server, so only the requests in flight see it, and p99.9 does not.
/// Both runs are bounded (3 s of load; 5000 requests or 60 s).
/// </summary>
public sealed class CoordinatedOmissionTests
{
    [Fact]
    public async Task RunAsync_OpenLoopAgainstAStall_P999ShowsTheStall()
    {
        await using var server = await StallingServer.StartAsync(stallAt: 100);
        using var time = new PreciseTimeProvider();
        using var session = await LoadSession.CreateAsync(Options(server), time, CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var summary = await session.RunAsync(LoadShape.Open(200), TimeSpan.FromSeconds(3), TimeSpan.Zero, progress: null, timeout.Token);

        Assert.Equal(0, summary.Errors);
        Assert.InRange(summary.Responses, 590, 600);
        Assert.True(summary.Latency.PercentileMs(99.9) >= 900, $"open-loop p99.9 {summary.Latency.PercentileMs(99.9)} ms");
        // Not one slow request: the stall spreads over everything due meanwhile.
        Assert.True(summary.Latency.PercentileMs(90) >= 200, $"open-loop p90 {summary.Latency.PercentileMs(90)} ms");
    }

    [Fact]
    public async Task RunAsync_ClosedLoopAgainstAStall_P999HidesTheStall()
    {
        await using var server = await StallingServer.StartAsync(stallAt: 500);
        using var time = new PreciseTimeProvider();
        using var session = await LoadSession.CreateAsync(Options(server), time, CancellationToken.None);

        // The run ends once the server has answered enough requests for the two that saw the stall to be well
        // under 0.1% (however slow the machine), or after 60 s as a backstop that fails the count below.
        using var enough = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = session.RunAsync(LoadShape.Closed(2), TimeSpan.FromSeconds(60), TimeSpan.Zero, progress: null, enough.Token);
        await Poll.UntilAsync(() => run.IsCompleted || server.Count >= EnoughRequests, $"{EnoughRequests} requests answered", TimeSpan.FromSeconds(90));
        await enough.CancelAsync();
        var summary = await run;

        Assert.Equal(0, summary.Errors);
        Assert.True(summary.Responses >= EnoughRequests - 2, $"only {summary.Responses} responses");
        // The clients saw the stall (their two requests in flight took ~1 s) ...
        Assert.True(summary.Latency.MaxMs >= 900, $"closed-loop max {summary.Latency.MaxMs} ms");
        // ... but it is two requests among thousands: p99.9 does not show it.
        Assert.True(summary.Latency.PercentileMs(99.9) < 300, $"closed-loop p99.9 {summary.Latency.PercentileMs(99.9)} ms");
    }

    // Two requests see the stall: 0.04% of these, so p99.9 hides them with room to spare.
    private const int EnoughRequests = 5_000;

    private static LoadOptions Options(StallingServer server) => new() { Url = server.Url, Model = "m", Timeout = TimeSpan.FromSeconds(10) };
}
