using ServingGateway.LoadTool.Load;

namespace ServingGateway.LoadTool.Tests.Load;

public sealed class TargetSelectorTests
{
    [Fact]
    public void Pick_Weights3To1_HoldsExactlyAndInterleaves()
    {
        var selector = new TargetSelector([3, 1]);

        var picks = Enumerable.Range(0, 400).Select(i => selector.Pick(i)).ToList();

        Assert.Equal(300, picks.Count(p => p == 0));
        Assert.Equal(100, picks.Count(p => p == 1));
        // Smooth: never two of the light target in a row.
        Assert.DoesNotContain(picks.Zip(picks.Skip(1)), p => p.First == 1 && p.Second == 1);
    }

    [Fact]
    public void Pick_CommonFactor_IsReducedToTheShortestCycle()
    {
        var selector = new TargetSelector([20, 40]);

        Assert.Equal([1, 0, 1], Enumerable.Range(0, 3).Select(i => selector.Pick(i)));
    }

    [Fact]
    public void Constructor_WeightBelowOne_Throws()
    {
        Assert.Throws<ArgumentException>(() => new TargetSelector([1, 0]));
    }
}
