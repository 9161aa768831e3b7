using ServingGateway.Deployments;

namespace ServingGateway.Gateway.Tests.Deployments;

public sealed class RolloutEvidenceTests
{
    private readonly RolloutEvidence _evidence = new();

    [Fact]
    public void Read_OneToAHundredMs_QuantilesWithinTheBucketWidth()
    {
        for (var ms = 1; ms <= 100; ms++)
        {
            _evidence.RecordAnswer("mlp", 1, ms % 10 == 0 ? 500 : 200, ms);
        }

        var read = _evidence.Read("mlp", 1);

        Assert.Equal((100L, 10L), (read.Requests, read.Errors));
        Assert.Equal(0.1, read.ErrorRate, 9);
        Assert.InRange(read.P50Ms, 50, 50 * 1.05);
        Assert.InRange(read.P99Ms, 99, 99 * 1.05);
        Assert.Equal(0, read.Compared);
        Assert.True(double.IsNaN(read.MaxDivergence));
    }

    [Fact]
    public void StartWindow_WhatCameBeforeNoLongerCounts()
    {
        _evidence.RecordAnswer("mlp", 1, 200, 5);
        _evidence.RecordAnswer("other", 1, 200, 5);

        _evidence.StartWindow("mlp");
        _evidence.RecordAnswer("mlp", 2, 200, 7);

        Assert.Same(VersionEvidence.None, _evidence.Read("mlp", 1));
        Assert.Equal(1, _evidence.Read("mlp", 2).Requests);
        Assert.Equal(1, _evidence.Read("other", 1).Requests); // another model's window is its own
        Assert.True(double.IsNaN(VersionEvidence.None.P99Ms));
    }

    [Fact]
    public void RecordShadow_CountsTheRunAndKeepsTheLargestDivergence()
    {
        _evidence.RecordShadow("mlp", 2, 3, 0.01);
        _evidence.RecordShadow("mlp", 2, 4, 0.5);
        _evidence.RecordShadow("mlp", 2, 5, 0.2);
        _evidence.RecordShadowError("mlp", 2, 6);

        var read = _evidence.Read("mlp", 2);

        Assert.Equal((4L, 1L, 3L), (read.Requests, read.Errors, read.Compared));
        Assert.Equal(0.5, read.MaxDivergence);
    }

    [Fact]
    public void RecordShadow_MismatchedOutputs_InfiniteDivergenceWins()
    {
        _evidence.RecordShadow("mlp", 2, 3, 0.5);
        _evidence.RecordShadow("mlp", 2, 3, double.PositiveInfinity);

        Assert.Equal(double.PositiveInfinity, _evidence.Read("mlp", 2).MaxDivergence);
    }
}
