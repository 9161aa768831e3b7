using ServingGateway.Deployments;

namespace ServingGateway.Gateway.Tests.Deployments;

public sealed class TrafficSplitsTests
{
    private readonly TrafficSplits _splits = new();

    [Fact]
    public void Set_ThenGetAndAll_TheSplitAsSet()
    {
        var split = new TrafficSplit([new VersionShare(2, 25), new VersionShare(1, 75)], new ShadowMirror(3, 0.1));

        _splits.Set("mlp", split);

        Assert.Same(split, _splits.Get("mlp"));
        Assert.Same(split, Assert.Single(_splits.All).Value);
        Assert.Null(_splits.Get("other"));
        Assert.Equal("3", _splits.Slots("mlp")!.ShadowText);
    }

    [Fact]
    public void Set_SlotsFilledInShareOrder()
    {
        _splits.Set("mlp", new TrafficSplit([new VersionShare(2, 25), new VersionShare(1, 75)]));
        var slots = _splits.Slots("mlp")!;

        Assert.Equal(25, Enumerable.Range(0, 100).Count(i => slots.At(i) == 2));
        Assert.All(Enumerable.Range(0, 25), i => Assert.Equal(2, slots.At(i)));
    }

    [Fact]
    public void Remove_TheModelHasNoSplitAgain()
    {
        _splits.Set("mlp", TrafficSplit.All(1));

        _splits.Remove("mlp");
        _splits.Remove("never-set");

        Assert.Null(_splits.Get("mlp"));
        Assert.Empty(_splits.All);
    }

    [Fact]
    public void Set_InvalidSplit_RefusedWithEveryProblemAndTheOldSplitKept()
    {
        _splits.Set("mlp", TrafficSplit.All(1));

        var ex = Assert.Throws<ArgumentException>(() => _splits.Set("mlp", new TrafficSplit(
            [new VersionShare(1, 60), new VersionShare(1, 50), new VersionShare(0, -10)], new ShadowMirror(2, 1.5))));

        Assert.Contains("version 0 is not a positive number", ex.Message, StringComparison.Ordinal);
        Assert.Contains("percent -10 is outside 0-100", ex.Message, StringComparison.Ordinal);
        Assert.Contains("a version is named twice", ex.Message, StringComparison.Ordinal);
        Assert.Contains("a ratio in 0-1", ex.Message, StringComparison.Ordinal);
        Assert.Equal(TrafficSplit.All(1).Shares, _splits.Get("mlp")!.Shares);
    }

    [Fact]
    public void Set_PercentsNotSummingTo100_Refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => _splits.Set("mlp", new TrafficSplit([new VersionShare(2, 5), new VersionShare(1, 90)])));

        Assert.Contains("the percents sum to 95, not 100", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => _splits.Set("mlp", new TrafficSplit([])));
    }
}
