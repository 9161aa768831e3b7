using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Auth;
using ServingGateway.Deployments;
using ServingGateway.Deployments.Rollouts;
using ServingGateway.Edge;
using ServingGateway.TestSupport;

namespace ServingGateway.Gateway.Tests.Deployments.Rollouts;

public sealed class RolloutDriverTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sg-rollout-driver-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 3, 0, 0, TimeSpan.Zero));
    private readonly FakeTrafficSplits _splits = new();
    private readonly FakeRolloutEvidence _evidence = new();
    private readonly FakeVersionFleet _fleet = new();
    private int _grace; // Deployments:UnloadGraceMilliseconds: none unless a test sets it
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        Directory.Delete(_folder, recursive: true);
    }

    private string StatePath => Path.Combine(_folder, "deployments.json");

    private string AuditPath => Path.Combine(_folder, "audit.log");

    private static RolloutSpec Canary => new(2, RolloutStrategy.Canary, [10, 50, 100], 30, new RolloutAnalysis(0.01, null, 2, 5, null), 0.1);

    private static VersionEvidence Good(double p99 = 10) => new(50, 0, p99 / 2, p99, 0, double.NaN);

    // lead: the driver takes its (local) lease at once, as its loop does first; a restarted process leaves it to StartAsync.
    private RolloutDriver Create(ITrafficSplits? splits = null, bool lead = true)
    {
        var services = new ServiceCollection().AddSingleton<EdgeMetrics>().BuildServiceProvider();
        var audit = new AuditLog(Options.Create(new AuditOptions { Path = AuditPath }), _time, new AuthMetrics(services), NullLogger<AuditLog>.Instance);
        var driver = new RolloutDriver(splits ?? _splits, _evidence, _fleet, new RolloutStore(StatePath), new LocalRolloutLease(), audit, new RolloutMetrics(Prometheus.Metrics.NewCustomRegistry(), splits ?? _splits),
            Options.Create(new RolloutOptions { UnloadGraceMilliseconds = _grace }), _time, NullLogger<RolloutDriver>.Instance);
        _owned.Add(audit);
        _owned.Add(driver);
        if (lead)
        {
            Assert.True(driver.Lead());
        }

        return driver;
    }

    private async Task StepAsync(RolloutDriver driver, TimeSpan by)
    {
        _time.Advance(by);
        await driver.FleetIdleAsync();
        driver.Tick();
    }

    [Fact]
    public async Task StartAsync_GoodVersion_AllCurrentThenStepsThenPromotedAndOldUnloaded()
    {
        var driver = Create();

        var rollout = await driver.StartAsync("mlp", Canary, "ci", CancellationToken.None);
        Assert.Equal(TrafficSplit.All(1).Shares, _splits.Get("mlp")!.Shares);
        await StepAsync(driver, TimeSpan.Zero);
        Assert.Equal([new VersionShare(1, 90), new VersionShare(2, 10)], _splits.Get("mlp")!.Shares);
        Assert.Equal(1, _evidence.Windows);

        _evidence.Set("mlp", 2, Good());
        _evidence.Set("mlp", 1, Good());
        await StepAsync(driver, TimeSpan.FromSeconds(30));
        Assert.Equal([new VersionShare(1, 50), new VersionShare(2, 50)], _splits.Get("mlp")!.Shares);
        _evidence.Set("mlp", 2, Good());
        _evidence.Set("mlp", 1, Good());
        await StepAsync(driver, TimeSpan.FromSeconds(30));
        await driver.FleetIdleAsync();

        Assert.Equal(RolloutState.Promoted, rollout.State);
        Assert.Equal(TrafficSplit.All(2).Shares, _splits.Get("mlp")!.Shares);
        Assert.Equal([[1L, 2L], [2L]], _fleet.Served);
        Assert.Equal(2, _evidence.Windows);
    }

    [Fact]
    public async Task Tick_SlowVersion_RolledBackAuditedAndPersisted()
    {
        var driver = Create();
        await driver.StartAsync("mlp", Canary, "ci", CancellationToken.None);
        await StepAsync(driver, TimeSpan.Zero);
        _evidence.Set("mlp", 2, Good(p99: 100));
        _evidence.Set("mlp", 1, Good(p99: 10));

        await StepAsync(driver, TimeSpan.FromSeconds(30));
        await driver.FleetIdleAsync();

        Assert.Equal(TrafficSplit.All(1).Shares, _splits.Get("mlp")!.Shares);
        Assert.Equal([[1L, 2L], [1L]], _fleet.Served);
        var lines = File.ReadAllLines(AuditPath).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["start", "loaded", "rollback"], lines.Select(l => l.GetProperty("outcome").GetString()));
        Assert.Equal(["ci", RolloutDecision.Controller, RolloutDecision.Controller], lines.Select(l => l.GetProperty("caller").GetString()));
        var rollback = lines[^1].GetProperty("decision");
        Assert.Equal(100, rollback.GetProperty("new").GetProperty("p99_ms").GetDouble());
        Assert.Equal(10, rollback.GetProperty("current").GetProperty("p99_ms").GetDouble());
        Assert.Contains("max_p99_ratio", rollback.GetProperty("reason").GetString(), StringComparison.Ordinal);
        using var state = JsonDocument.Parse(File.ReadAllBytes(StatePath));
        Assert.Equal("rolled_back", state.RootElement.GetProperty("rollouts").GetProperty("mlp").GetProperty("state").GetString());
        Assert.Equal(100, state.RootElement.GetProperty("splits").GetProperty("mlp").GetProperty("shares")[0].GetProperty("percent").GetInt32());
    }

    [Fact]
    public async Task Tick_LoadFails_FailedWithTheReasonAndCurrentAlone()
    {
        _fleet.Manual = true;
        var driver = Create();
        var rollout = await driver.StartAsync("mlp", Canary, "ci", CancellationToken.None);

        driver.Tick();
        Assert.Equal(RolloutState.Loading, rollout.State);
        _fleet.Complete("version 2: not an ONNX model");
        await StepAsync(driver, TimeSpan.FromSeconds(1));

        Assert.Equal(RolloutState.Failed, rollout.State);
        Assert.Contains("not an ONNX model", rollout.Decisions[^1].Reason, StringComparison.Ordinal);
        Assert.Equal(TrafficSplit.All(1).Shares, _splits.Get("mlp")!.Shares);
        Assert.Equal([[1L, 2L], [1L]], _fleet.Served);
    }

    [Fact]
    public async Task StartAsync_Refusals_404And409()
    {
        var driver = Create();

        Assert.Equal(404, (await Assert.ThrowsAsync<DeploymentException>(() => driver.StartAsync("nope", Canary, "ci", CancellationToken.None))).StatusCode);
        Assert.Equal(404, (await Assert.ThrowsAsync<DeploymentException>(() => driver.StartAsync("mlp", Canary with { Version = 7 }, "ci", CancellationToken.None))).StatusCode);
        Assert.Equal(409, (await Assert.ThrowsAsync<DeploymentException>(() => driver.StartAsync("mlp", Canary with { Version = 1 }, "ci", CancellationToken.None))).StatusCode);
        await driver.StartAsync("mlp", Canary, "ci", CancellationToken.None);
        var running = await Assert.ThrowsAsync<DeploymentException>(() => driver.StartAsync("mlp", Canary, "ci", CancellationToken.None));
        Assert.Equal(409, running.StatusCode);
        Assert.Contains("already loading", running.Message, StringComparison.Ordinal);
        Assert.Equal(404, Assert.Throws<DeploymentException>(() => driver.Command("mlp", "explode", "ci")).StatusCode);
        Assert.Equal(404, Assert.Throws<DeploymentException>(() => driver.Command("other", "pause", "ci")).StatusCode);
    }

    [Fact]
    public async Task StartAsync_SplitNamesAVersion_ThatIsTheCurrent()
    {
        _fleet.OnDisk = [3, 2, 1];
        _fleet.ReadyVersions = [3, 2];
        _splits.Set("mlp", TrafficSplit.All(2));
        var driver = Create();

        var rollout = await driver.StartAsync("mlp", Canary with { Version = 3 }, "ci", CancellationToken.None);

        Assert.Equal(2, rollout.Current);
        Assert.Equal([[2L, 3L]], _fleet.Served);
    }

    [Fact]
    public async Task Restore_AfterRestartMidStep_SplitBeforeTrafficThenResumesWithANewWindow()
    {
        var first = Create();
        await first.StartAsync("mlp", Canary, "ci", CancellationToken.None);
        await StepAsync(first, TimeSpan.Zero);
        _evidence.Set("mlp", 2, Good());
        _evidence.Set("mlp", 1, Good());
        await StepAsync(first, TimeSpan.FromSeconds(30));
        Assert.Equal(50, first.Current("mlp")!.Value.Rollout.Percent);

        // A new process: empty splits until restored.
        var splits = new FakeTrafficSplits();
        var second = Create(splits, lead: false);
        var serving = second.Restore();
        Assert.Equal([1L, 2L], serving["mlp"]);
        Assert.Equal([new VersionShare(1, 50), new VersionShare(2, 50)], splits.Get("mlp")!.Shares);
        var windows = _evidence.Windows;

        // The driver's loop resumes it on a thread of its own: wait until it has (loading again).
        await second.StartAsync(CancellationToken.None);
        Assert.True(SpinWait.SpinUntil(() => second.Current("mlp")!.Value.Rollout.State == RolloutState.Loading, TimeSpan.FromSeconds(30)));
        await second.FleetIdleAsync();
        second.Tick();
        var (rollout, _, _) = second.Current("mlp")!.Value;

        Assert.Equal(RolloutState.Analyzing, rollout.State);
        Assert.Equal(50, rollout.Percent);
        Assert.Equal(windows + 1, _evidence.Windows);
        Assert.Equal(_time.GetUtcNow().AddSeconds(30), rollout.StepEnds);
        Assert.Equal("resume_after_restart", rollout.Decisions[^2].Action);
        await second.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Command_PauseResumePromote_DrivenAndAudited()
    {
        var driver = Create();
        await driver.StartAsync("mlp", Canary, "ci", CancellationToken.None);
        await StepAsync(driver, TimeSpan.Zero);

        driver.Command("mlp", "pause", "ops");
        await StepAsync(driver, TimeSpan.FromSeconds(300));
        Assert.Equal(RolloutState.Paused, driver.Current("mlp")!.Value.Rollout.State);
        driver.Command("mlp", "resume", "ops");
        driver.Command("mlp", "promote", "ops");
        await driver.FleetIdleAsync();

        Assert.Equal(TrafficSplit.All(2).Shares, _splits.Get("mlp")!.Shares);
        Assert.Equal([[1L, 2L], [2L]], _fleet.Served);
        var outcomes = File.ReadAllLines(AuditPath).Select(l => JsonDocument.Parse(l).RootElement).Where(l => l.GetProperty("caller").GetString() == "ops");
        Assert.Equal(["pause", "resume", "promote"], outcomes.Select(l => l.GetProperty("outcome").GetString()));
        Assert.Equal(409, Assert.Throws<DeploymentException>(() => driver.Command("mlp", "pause", "ops")).StatusCode);
    }

    [Fact]
    public async Task Command_Promote_OldVersionUnloadedOnlyAfterTheGrace()
    {
        _grace = 1000;
        var driver = Create();
        await driver.StartAsync("mlp", Canary, "ci", CancellationToken.None);
        await StepAsync(driver, TimeSpan.Zero);

        driver.Command("mlp", "promote", "ops");

        // The split moved at once; the unload waits for requests routed by the old split to arrive.
        Assert.Equal(TrafficSplit.All(2).Shares, _splits.Get("mlp")!.Shares);
        Assert.Equal([[1L, 2L]], _fleet.Served);
        var waited = await FakeClockSteps.AdvanceUntilAsync(_time, () => _fleet.Served.Count == 2, "the old version unloaded", TimeSpan.FromSeconds(30));
        Assert.True(waited >= TimeSpan.FromSeconds(1), $"unloaded after {waited.TotalMilliseconds} ms, inside the 1000 ms grace");
        Assert.Equal([[1L, 2L], [2L]], _fleet.Served);
    }
}
