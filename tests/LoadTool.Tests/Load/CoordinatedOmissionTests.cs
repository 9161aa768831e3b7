using ServingGateway.LoadTool.Cli;
using ServingGateway.LoadTool.Load;
using ServingGateway.LoadTool.Tests.Infrastructure;
using ServingGateway.LoadTool.Timing;

namespace ServingGateway.LoadTool.Tests.Load;

/// <summary>
/// The coordinated-omission check of issue 6, over real HTTP on loopback: a server that freezes
/// once for 1 s. The open loop keeps sending on schedule and measures from the intended send
/// time, so the ~200 requests due during the stall carry it and p99.9 shows it. The closed loop's
/// clients wait with the server, so only the requests in flight see it, and p99.9 does not.
/// Both runs are bounded (3 s and 5 s of load, a 30 s cancellation as a backstop).
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
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var summary = await session.RunAsync(LoadShape.Closed(2), TimeSpan.FromSeconds(5), TimeSpan.Zero, progress: null, timeout.Token);

        Assert.Equal(0, summary.Errors);
        Assert.True(server.Count > 2_000, $"only {server.Count} requests");
        // The clients saw the stall (their two requests in flight took ~1 s) ...
        Assert.True(summary.Latency.MaxMs >= 900, $"closed-loop max {summary.Latency.MaxMs} ms");
        // ... but it is two requests among thousands: p99.9 does not show it.
        Assert.True(summary.Latency.PercentileMs(99.9) < 300, $"closed-loop p99.9 {summary.Latency.PercentileMs(99.9)} ms");
    }

    private static LoadOptions Options(StallingServer server) => new() { Url = server.Url, Model = "m", Timeout = TimeSpan.FromSeconds(10) };
}
