using ServingGateway.LoadTool.Load;

namespace ServingGateway.LoadTool.Tests.Load;

public sealed class ArrivalScheduleTests
{
    [Fact]
    public void OffsetOf_ConstantRate_IsIndexOverRate()
    {
        var schedule = ArrivalSchedule.Constant(200, TimeSpan.FromSeconds(3));

        Assert.Equal(600, schedule.Count);
        Assert.Equal(TimeSpan.Zero, schedule.OffsetOf(0));
        Assert.Equal(5.0, schedule.OffsetOf(1).TotalMilliseconds, 6);
        Assert.Equal(2995.0, schedule.OffsetOf(599).TotalMilliseconds, 6);
    }

    [Fact]
    public void Count_FractionalArea_RoundsDown()
    {
        Assert.Equal(1, ArrivalSchedule.Constant(0.1, TimeSpan.FromSeconds(10)).Count);
        Assert.Equal(2, ArrivalSchedule.Constant(2.5, TimeSpan.FromSeconds(1)).Count);
    }

    [Fact]
    public void OffsetOf_RampFromZero_FollowsTheAreaUnderTheRate()
    {
        // 0 → 100 req/s over 2 s: area 100; request k is due at t with 25·t² = k.
        var schedule = ArrivalSchedule.Ramp(0, 100, TimeSpan.FromSeconds(2));

        Assert.Equal(100, schedule.Count);
        Assert.Equal(Math.Sqrt(25 / 25.0), schedule.OffsetOf(25).TotalSeconds, 6);
        Assert.Equal(Math.Sqrt(99 / 25.0), schedule.OffsetOf(99).TotalSeconds, 6);
    }

    [Fact]
    public void OffsetOf_RampDown_IsIncreasingAndEndsWithinTheDuration()
    {
        var schedule = ArrivalSchedule.Ramp(100, 0, TimeSpan.FromSeconds(2));
        var offsets = Enumerable.Range(0, (int)schedule.Count).Select(i => schedule.OffsetOf(i)).ToList();

        Assert.Equal(100, schedule.Count);
        Assert.True(offsets.Zip(offsets.Skip(1)).All(p => p.Second > p.First));
        Assert.True(offsets[^1] <= TimeSpan.FromSeconds(2));
        // Dense at the start: the first 50 requests leave in the first 0.59 s (100t − 25t² = 50).
        Assert.Equal(2 - Math.Sqrt(2), schedule.OffsetOf(50).TotalSeconds, 6);
    }

    [Fact]
    public void WithWarmup_ShiftsTheScheduleAfterTheWarmup()
    {
        var schedule = ArrivalSchedule.Ramp(10, 30, TimeSpan.FromSeconds(1)).WithWarmup(10, TimeSpan.FromSeconds(2));

        Assert.Equal(20 + 20, schedule.Count);
        Assert.Equal(TimeSpan.FromSeconds(3), schedule.Duration);
        Assert.Equal(1.9, schedule.OffsetOf(19).TotalSeconds, 6);
        Assert.Equal(2.0, schedule.OffsetOf(20).TotalSeconds, 6);
        Assert.Equal(10, schedule.RateAt(TimeSpan.FromSeconds(1)), 9);
        Assert.Equal(20, schedule.RateAt(TimeSpan.FromSeconds(2.5)), 9);
    }

    [Fact]
    public void OffsetOf_IndexPastTheEnd_Throws()
    {
        var schedule = ArrivalSchedule.Constant(10, TimeSpan.FromSeconds(1));

        Assert.Throws<ArgumentOutOfRangeException>(() => schedule.OffsetOf(10));
    }
}
