using ServingGateway.Inference.Drift;

namespace ServingGateway.Inference.Tests.Drift;

public class DriftStatisticsTests
{
    [Fact]
    public void Psi_SameShares_IsZero()
    {
        Assert.Equal(0, DriftStatistics.Psi([0.25, 0.25, 0.5], [25, 25, 50]), 12);
    }

    [Fact]
    public void Psi_KnownShift_MatchesTheFormula()
    {
        // (0.8 - 0.5) ln(0.8 / 0.5) + (0.2 - 0.5) ln(0.2 / 0.5)
        var expected = (0.3 * Math.Log(1.6)) + (-0.3 * Math.Log(0.4));

        Assert.Equal(expected, DriftStatistics.Psi([0.5, 0.5], [80, 20]), 12);
        Assert.Equal(0.4159, expected, 4);
    }

    [Fact]
    public void Psi_EmptyBin_IsFlooredNotInfinite()
    {
        var psi = DriftStatistics.Psi([1.0, 0.0], [50, 50]);

        Assert.True(double.IsFinite(psi));
        Assert.True(psi > 1, $"psi {psi}");
    }

    [Fact]
    public void PsiAndKs_NoLiveRows_AreNaN()
    {
        Assert.True(double.IsNaN(DriftStatistics.Psi([0.5, 0.5], [0, 0])));
        Assert.True(double.IsNaN(DriftStatistics.Ks([0.5, 0.5], [0, 0])));
    }

    [Fact]
    public void Ks_KnownShares_IsTheLargestCumulativeGap()
    {
        Assert.Equal(0.3, DriftStatistics.Ks([0.5, 0.5], [80, 20]), 12);
        Assert.Equal(0.4, DriftStatistics.Ks([0.2, 0.3, 0.5], [0, 10, 90]), 12);
    }

    [Fact]
    public void QuantileEdges_Uniform_AreTheDeciles()
    {
        var values = Enumerable.Range(0, 100).Select(i => (double)(99 - i)).ToArray();

        var edges = DriftStatistics.QuantileEdges(values, 10);

        Assert.Equal([10, 20, 30, 40, 50, 60, 70, 80, 90], edges);
        Assert.Equal(0, DriftStatistics.BinOf(edges, -5));
        Assert.Equal(0, DriftStatistics.BinOf(edges, 10));
        Assert.Equal(1, DriftStatistics.BinOf(edges, 10.5));
        Assert.Equal(9, DriftStatistics.BinOf(edges, 1000));
    }

    [Fact]
    public void QuantileEdges_Constant_OneEdgeTwoBins()
    {
        var edges = DriftStatistics.QuantileEdges(Enumerable.Repeat(3.0, 50).ToArray(), 10);

        Assert.Equal([3.0], edges);
        Assert.Equal(0, DriftStatistics.BinOf(edges, 3));
        Assert.Equal(1, DriftStatistics.BinOf(edges, 3.5));
    }
}
