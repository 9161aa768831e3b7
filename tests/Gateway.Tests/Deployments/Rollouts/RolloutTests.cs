using ServingGateway.Deployments;
using ServingGateway.Deployments.Rollouts;

namespace ServingGateway.Gateway.Tests.Deployments.Rollouts;

public sealed class RolloutTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 3, 0, 0, TimeSpan.Zero);

    private static RolloutSpec Canary(RolloutAnalysis? analysis = null, params int[] steps) =>
        new(2, RolloutStrategy.Canary, steps.Length > 0 ? steps : [5, 25, 50, 100], 30, analysis ?? new RolloutAnalysis(0.01, null, 2, 10, null), 0.5);

    private static RolloutSpec BlueGreen(double maxDivergence) =>
        new(2, RolloutStrategy.BlueGreen, [100], 30, new RolloutAnalysis(null, null, null, 10, maxDivergence), 0.25);

    private static VersionEvidence Good(long requests = 100, double p99 = 10) => new(requests, 0, p99 / 2, p99, 0, double.NaN);

    private static (Rollout Rollout, RolloutActions Actions) Loaded(RolloutSpec spec)
    {
        var (rollout, _) = Rollout.Start("mlp", spec, 1, T0, "ci");
        return (rollout, rollout.Loaded(T0));
    }

    [Fact]
    public void Start_Canary_AllTrafficOnCurrentWhileBothLoad()
    {
        var (rollout, actions) = Rollout.Start("mlp", Canary(), 1, T0, "ci");

        Assert.Equal(RolloutState.Loading, rollout.State);
        Assert.Equal(TrafficSplit.All(1).Shares, actions.Split!.Shares);
        Assert.Null(actions.Split.Shadow);
        Assert.Equal([1L, 2L], actions.Serve);
        Assert.True(actions.Loading);
        Assert.Equal("start", actions.Decision!.Action);
        Assert.Equal("ci", actions.Decision.By);
    }

    [Fact]
    public void Loaded_Canary_FirstStepSplitAndWindow()
    {
        var (rollout, actions) = Loaded(Canary());

        Assert.Equal(RolloutState.Analyzing, rollout.State);
        Assert.Equal([new VersionShare(1, 95), new VersionShare(2, 5)], actions.Split!.Shares);
        Assert.True(actions.StartWindow);
        Assert.Null(actions.Serve);
        Assert.Equal(T0.AddSeconds(30), rollout.StepEnds);
        Assert.Equal(5, rollout.Percent);
    }

    [Fact]
    public void Tick_GoodVersion_WalksEveryStepThenPromotes()
    {
        var (rollout, _) = Loaded(Canary());
        var now = T0;

        Assert.Same(RolloutActions.None, rollout.Tick(now.AddSeconds(29.9), Good(), Good()));
        var percents = new List<int>();
        RolloutActions actions;
        do
        {
            now = now.AddSeconds(30);
            actions = rollout.Tick(now, Good(), Good());
            percents.Add(rollout.Percent);
        }
        while (rollout.State == RolloutState.Analyzing);

        Assert.Equal([25, 50, 100], percents);
        Assert.Equal(RolloutState.Promoted, rollout.State);
        Assert.Equal(TrafficSplit.All(2).Shares, actions.Split!.Shares);
        Assert.Equal([2L], actions.Serve);
        Assert.Equal("promote", actions.Decision!.Action);
        Assert.Equal(["start", "loaded", "step", "step", "promote"], rollout.Decisions.Select(d => d.Action));
    }

    [Fact]
    public void Tick_TenTimesSlowerAtFirstStep_RollsBackByP99Ratio()
    {
        var (rollout, _) = Loaded(Canary());

        var actions = rollout.Tick(T0.AddSeconds(30), Good(20, p99: 100), Good(400, p99: 10));

        Assert.Equal(RolloutState.RolledBack, rollout.State);
        Assert.Equal(TrafficSplit.All(1).Shares, actions.Split!.Shares);
        Assert.Null(actions.Split.Shadow);
        Assert.Equal([1L], actions.Serve);
        Assert.Contains("max_p99_ratio 2", actions.Decision!.Reason, StringComparison.Ordinal);
        Assert.Equal(100, actions.Decision.New!.P99Ms);
        Assert.Equal(10, actions.Decision.Current!.P99Ms);
    }

    [Theory]
    [InlineData(5, 0.01, "max_error_rate")]
    [InlineData(0, 600, "max_p99_ms")]
    public void Tick_BoundFailed_RollsBackWithTheReason(long errors, double p99, string bound)
    {
        var (rollout, _) = Loaded(Canary(new RolloutAnalysis(0.01, 500, null, 10, null)));

        var actions = rollout.Tick(T0.AddSeconds(30), new VersionEvidence(100, errors, 1, p99, 0, double.NaN), Good());

        Assert.Equal(RolloutState.RolledBack, rollout.State);
        Assert.Contains(bound, actions.Decision!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Tick_TooFewRequests_ExtendsThenRollsBackAfterMaxExtensions()
    {
        var (rollout, _) = Loaded(Canary());
        var now = T0;

        for (var i = 1; i <= Rollout.MaxExtensions; i++)
        {
            now = now.AddSeconds(30);
            var extended = rollout.Tick(now, Good(requests: 9), Good());
            Assert.Equal("extend", extended.Decision!.Action);
            Assert.Null(extended.Split);
            Assert.Equal(i, rollout.Extensions);
            Assert.Equal(5, rollout.Percent);
        }

        var actions = rollout.Tick(now.AddSeconds(30), Good(requests: 9), Good());

        Assert.Equal(RolloutState.RolledBack, rollout.State);
        Assert.Contains("too few requests: 9 of min_requests 10", actions.Decision!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Tick_TooFewThenEnough_PassesTheExtendedStep()
    {
        var (rollout, _) = Loaded(Canary());

        rollout.Tick(T0.AddSeconds(30), Good(requests: 3), Good());
        var actions = rollout.Tick(T0.AddSeconds(60), Good(requests: 12), Good());

        Assert.Equal("step", actions.Decision!.Action);
        Assert.Equal(25, rollout.Percent);
        Assert.Equal(0, rollout.Extensions);
    }

    [Fact]
    public void Loaded_BlueGreen_ZeroPercentWithTheNewVersionAsShadow()
    {
        var (rollout, actions) = Loaded(BlueGreen(0.01));

        Assert.Equal(TrafficSplit.All(1).Shares, actions.Split!.Shares);
        Assert.Equal(new ShadowMirror(2, 0.25), actions.Split.Shadow);
        Assert.Equal(0, rollout.Percent);
    }

    [Fact]
    public void Tick_BlueGreenDivergentShadow_RollsBackBeforeAnyTraffic()
    {
        var (rollout, _) = Loaded(BlueGreen(0.01));

        var actions = rollout.Tick(T0.AddSeconds(30), new VersionEvidence(40, 0, 1, 2, 40, 0.5), VersionEvidence.None);

        Assert.Equal(RolloutState.RolledBack, rollout.State);
        Assert.Contains("max_output_divergence", actions.Decision!.Reason, StringComparison.Ordinal);
        Assert.Null(actions.Split!.Shadow);
        Assert.Equal(TrafficSplit.All(1).Shares, actions.Split.Shares);
    }

    [Fact]
    public void Tick_BlueGreenCloseShadow_SwitchesAllAtOnce()
    {
        var (rollout, _) = Loaded(BlueGreen(0.01));

        var actions = rollout.Tick(T0.AddSeconds(30), new VersionEvidence(40, 0, 1, 2, 40, 0.001), VersionEvidence.None);

        Assert.Equal(RolloutState.Promoted, rollout.State);
        Assert.Equal(TrafficSplit.All(2).Shares, actions.Split!.Shares);
        Assert.Equal([2L], actions.Serve);
    }

    [Fact]
    public void Tick_CanaryWithDivergenceBoundButNoComparison_Extends()
    {
        var (rollout, loaded) = Loaded(Canary(new RolloutAnalysis(null, null, null, 1, 0.1)));
        Assert.Equal(new ShadowMirror(2, 0.5), loaded.Split!.Shadow);

        var actions = rollout.Tick(T0.AddSeconds(30), Good(), Good());

        Assert.Equal("extend", actions.Decision!.Action);
    }

    [Fact]
    public void LoadFailed_Loading_FailsBackToCurrentAlone()
    {
        var (rollout, _) = Rollout.Start("mlp", Canary(), 1, T0, "ci");

        var actions = rollout.LoadFailed(T0, "version 2: bad protobuf");

        Assert.Equal(RolloutState.Failed, rollout.State);
        Assert.Equal([1L], actions.Serve);
        Assert.Equal(TrafficSplit.All(1).Shares, actions.Split!.Shares);
        Assert.Same(RolloutActions.None, rollout.Loaded(T0));
    }

    [Fact]
    public void PauseResume_Analyzing_HoldsTheSplitThenRestartsTheWindow()
    {
        var (rollout, _) = Loaded(Canary());

        var paused = rollout.Pause(T0.AddSeconds(10), "ops");
        Assert.Null(paused.Split);
        Assert.Same(RolloutActions.None, rollout.Tick(T0.AddSeconds(100), Good(), Good()));
        var resumed = rollout.Resume(T0.AddSeconds(100), "ops");

        Assert.Equal(RolloutState.Analyzing, rollout.State);
        Assert.True(resumed.StartWindow);
        Assert.Equal([new VersionShare(1, 95), new VersionShare(2, 5)], resumed.Split!.Shares);
        Assert.Equal(T0.AddSeconds(130), rollout.StepEnds);
        Assert.Equal(["pause", "resume"], rollout.Decisions.Skip(2).Select(d => $"{d.Action}"));
        Assert.All(rollout.Decisions.Skip(2), d => Assert.Equal("ops", d.By));
    }

    [Fact]
    public void Promote_Paused_AllTrafficToTheNewVersionAtOnce()
    {
        var (rollout, _) = Loaded(Canary());
        rollout.Pause(T0, "ops");

        var actions = rollout.Promote(T0, "ops", Good(), Good());

        Assert.Equal(RolloutState.Promoted, rollout.State);
        Assert.Equal(TrafficSplit.All(2).Shares, actions.Split!.Shares);
        Assert.Equal([2L], actions.Serve);
    }

    [Fact]
    public void Rollback_WhileLoading_BackToCurrentAndLaterLoadIgnored()
    {
        var (rollout, _) = Rollout.Start("mlp", Canary(), 1, T0, "ci");

        var actions = rollout.Rollback(T0, "ops", VersionEvidence.None, VersionEvidence.None);

        Assert.Equal(RolloutState.RolledBack, rollout.State);
        Assert.Equal([1L], actions.Serve);
        Assert.Same(RolloutActions.None, rollout.Loaded(T0));
    }

    [Fact]
    public void Commands_WrongState_409()
    {
        var (rollout, _) = Rollout.Start("mlp", Canary(), 1, T0, "ci");

        Assert.Equal(409, Assert.Throws<DeploymentException>(() => rollout.Pause(T0, "ops")).StatusCode);
        Assert.Equal(409, Assert.Throws<DeploymentException>(() => rollout.Resume(T0, "ops")).StatusCode);
        Assert.Equal(409, Assert.Throws<DeploymentException>(() => rollout.Promote(T0, "ops", Good(), Good())).StatusCode);
        rollout.Rollback(T0, "ops", Good(), Good());
        Assert.Equal(409, Assert.Throws<DeploymentException>(() => rollout.Rollback(T0, "ops", Good(), Good())).StatusCode);
    }

    [Fact]
    public void Restarted_MidStep_LoadsBothAgainThenRestartsThatStepsWindow()
    {
        var (rollout, _) = Loaded(Canary());
        rollout.Tick(T0.AddSeconds(30), Good(), Good());
        Assert.Equal(25, rollout.Percent);

        var restarted = rollout.Restarted(T0.AddSeconds(45));
        Assert.Equal(RolloutState.Loading, rollout.State);
        Assert.Equal([1L, 2L], restarted.Serve);
        Assert.True(restarted.Loading);
        var loaded = rollout.Loaded(T0.AddSeconds(50));

        Assert.Equal(RolloutState.Analyzing, rollout.State);
        Assert.Equal([new VersionShare(1, 75), new VersionShare(2, 25)], loaded.Split!.Shares);
        Assert.True(loaded.StartWindow);
        Assert.Equal(T0.AddSeconds(80), rollout.StepEnds);
    }

    [Fact]
    public void Restarted_Paused_StaysPausedAfterLoading()
    {
        var (rollout, _) = Loaded(Canary());
        rollout.Pause(T0, "ops");

        var restarted = rollout.Restarted(T0.AddSeconds(5));

        Assert.Equal([1L, 2L], restarted.Serve);
        Assert.Same(RolloutActions.None, rollout.Loaded(T0.AddSeconds(6)));
        Assert.Equal(RolloutState.Paused, rollout.State);
        Assert.Equal(5, rollout.Split.Shares.Single(s => s.Version == 2).Percent);
    }
}
