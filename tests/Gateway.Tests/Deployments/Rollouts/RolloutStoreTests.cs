using ServingGateway.Deployments;
using ServingGateway.Deployments.Rollouts;

namespace ServingGateway.Gateway.Tests.Deployments.Rollouts;

public sealed class RolloutStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 3, 0, 0, TimeSpan.Zero);
    private readonly string _folder = Directory.CreateTempSubdirectory("sg-rollout-store-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private RolloutStore Store => new(Path.Combine(_folder, "deployments.json"));

    [Fact]
    public void Load_NoFile_Nothing()
    {
        var (splits, rollouts) = Store.Load();

        Assert.Empty(splits);
        Assert.Empty(rollouts);
    }

    [Fact]
    public void SaveLoad_RunningRollout_RoundTripsEveryField()
    {
        var spec = new RolloutSpec(2, RolloutStrategy.Canary, [5, 50, 100], 30, new RolloutAnalysis(0.01, null, 2, 10, 0.5), 0.25);
        var (rollout, _) = Rollout.Start("mlp", spec, 1, T0, "ci");
        rollout.Loaded(T0);
        rollout.Tick(T0.AddSeconds(30), new VersionEvidence(3, 0, 1, 2, 0, double.NaN), new VersionEvidence(60, 1, 1, 2.5, 0, double.PositiveInfinity));
        var split = new TrafficSplit([new VersionShare(1, 95), new VersionShare(2, 5)], new ShadowMirror(2, 0.25));

        Store.Save(new Dictionary<string, TrafficSplit> { ["mlp"] = split }, [rollout]);
        var (splits, rollouts) = Store.Load();

        Assert.Equal(split.Shares, splits["mlp"].Shares);
        Assert.Equal(split.Shadow, splits["mlp"].Shadow);
        var back = Assert.Single(rollouts);
        Assert.Equal(("mlp", 1L, 2L, RolloutState.Analyzing, 0, 1), (back.Model, back.Current, back.New, back.State, back.Step, back.Extensions));
        Assert.Equal(spec.Analysis, back.Spec.Analysis);
        Assert.Equal(spec.Steps, back.Spec.Steps);
        Assert.Equal((rollout.Started, rollout.StepEnds), (back.Started, back.StepEnds));
        Assert.Equal(rollout.Decisions.Select(d => (d.Time, d.By, d.Action, d.Percent, d.Reason)), back.Decisions.Select(d => (d.Time, d.By, d.Action, d.Percent, d.Reason)));
        var extend = back.Decisions[^1];
        Assert.Equal(3, extend.New!.Requests);
        Assert.True(double.IsNaN(extend.New.MaxDivergence));
        Assert.True(double.IsPositiveInfinity(extend.Current!.MaxDivergence));
        Assert.Equal(["deployments.json"], Directory.GetFiles(_folder).Select(Path.GetFileName));
    }

    [Fact]
    public void Save_Twice_ReplacesTheFileWhole()
    {
        Store.Save(new Dictionary<string, TrafficSplit> { ["a"] = TrafficSplit.All(1), ["b"] = TrafficSplit.All(2) }, []);

        Store.Save(new Dictionary<string, TrafficSplit> { ["b"] = TrafficSplit.All(3) }, []);

        var (splits, _) = Store.Load();
        Assert.Equal(["b"], splits.Keys);
        Assert.Equal(3, splits["b"].Shares.Single().Version);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{}")]
    [InlineData("""{"splits": {"m": {"shares": [{"version": 1, "percent": 60}]}}, "rollouts": {}}""")]
    public void Load_NotAStateFile_InvalidDataNamingTheFile(string text)
    {
        File.WriteAllText(Store.Path, text);

        var ex = Assert.Throws<InvalidDataException>(() => Store.Load());

        Assert.Contains(Store.Path, ex.Message, StringComparison.Ordinal);
    }
}
