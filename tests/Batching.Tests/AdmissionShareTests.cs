namespace ServingGateway.Batching.Tests;

/// <summary>The deadline policy's learned admission share: windows of answers shrink it, windows in time that refusals limited grow it.</summary>
public sealed class AdmissionShareTests
{
    [Fact]
    public void Admits_Initially_TheDeadlineItself()
    {
        var share = new AdmissionShare();

        Assert.Equal(1, share.Value);
        Assert.True(share.Admits(100, 100));
        Assert.False(share.Admits(100.5, 100));
    }

    [Fact]
    public void Answered_MoreThanOnePercentLateInAWindow_Shrinks()
    {
        var share = new AdmissionShare();

        share.Answered(98, 2);

        Assert.Equal(0.75, share.Value);
        Assert.False(share.Admits(76, 100));
        Assert.True(share.Admits(75, 100));
    }

    [Fact]
    public void Answered_OnePercentLate_Tolerated()
    {
        var share = new AdmissionShare();
        share.Answered(98, 2); // 0.75
        share.Refused();

        share.Answered(99, 1); // 1% late and a refusal: the share limited admission and answers were in time

        Assert.Equal(0.77, share.Value, 10);
    }

    [Fact]
    public void Answered_InTimeWithoutRefusals_Unchanged()
    {
        var share = new AdmissionShare();
        share.Answered(90, 10); // 0.75

        share.Answered(100, 0); // nothing refused: the share did not limit anyone, nothing to learn

        Assert.Equal(0.75, share.Value);
    }

    [Fact]
    public void Answered_NotAWholeWindow_NoDecisionYet()
    {
        var share = new AdmissionShare();

        share.Answered(0, 50);
        share.Answered(0, 49);

        Assert.Equal(1, share.Value);
        share.Answered(0, 1);
        Assert.Equal(0.75, share.Value);
    }

    [Fact]
    public void Answered_BatchStraddlingAWindow_ToleranceScalesWithTheAnswersCounted()
    {
        var tolerated = new AdmissionShare();
        var shrunk = new AdmissionShare();

        tolerated.Answered(149, 1); // 0.67% late
        shrunk.Answered(148, 2);    // 1.33% late

        Assert.Equal(1, tolerated.Value);
        Assert.Equal(0.75, shrunk.Value);
    }

    [Fact]
    public void Answered_ManyLateWindows_NeverBelowTheMinimum()
    {
        var share = new AdmissionShare();

        for (var i = 0; i < 40; i++)
        {
            share.Answered(0, AdmissionShare.Window);
        }

        Assert.Equal(AdmissionShare.Minimum, share.Value);
    }

    [Fact]
    public void Answered_InTimeWindowsWithRefusals_GrowBackToOneAndNoFurther()
    {
        var share = new AdmissionShare();
        share.Answered(0, AdmissionShare.Window); // 0.75

        for (var i = 0; i < 20; i++)
        {
            share.Refused();
            share.Answered(AdmissionShare.Window, 0);
        }

        Assert.Equal(1, share.Value);
    }
}
