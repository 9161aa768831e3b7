using Microsoft.Extensions.Time.Testing;
using ServingGateway.Edge;
using ServingGateway.Routing;

namespace ServingGateway.Gateway.Tests.Routing;

public class NodeSaturationTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    private readonly NodeSaturation _saturation;

    public NodeSaturationTests()
    {
        _saturation = new NodeSaturation(new FixedOptionsMonitor<EdgeOptions>(new EdgeOptions { MaxSaturationSeconds = 10 }), _time);
    }

    [Fact]
    public void Mark_ForItsRetryAfter_ThenNoLonger()
    {
        Assert.False(_saturation.IsSaturated("n1"));

        Assert.Equal(TimeSpan.FromSeconds(3), _saturation.Mark("n1", TimeSpan.FromSeconds(3)));

        Assert.True(_saturation.IsSaturated("n1"));
        Assert.False(_saturation.IsSaturated("n2"));
        _time.Advance(TimeSpan.FromSeconds(2.999));
        Assert.True(_saturation.IsSaturated("n1"));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(_saturation.IsSaturated("n1"));
    }

    [Fact]
    public void Mark_LongerThanTheCap_CappedToMaxSaturationSeconds()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), _saturation.Mark("n1", TimeSpan.FromHours(1)));

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(_saturation.IsSaturated("n1"));
    }

    [Fact]
    public void Mark_AShorterOneLater_DoesNotShortenTheFirst()
    {
        _saturation.Mark("n1", TimeSpan.FromSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(1));
        _saturation.Mark("n1", TimeSpan.FromSeconds(1));

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(_saturation.IsSaturated("n1"));
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(_saturation.IsSaturated("n1"));
    }

    [Theory]
    [InlineData("5", 5.0)]
    [InlineData(" 12 ", 12.0)]
    [InlineData("Mon, 30 Nov 2026 12:00:07 GMT", 7.0)]
    public void ParseRetryAfter_SecondsOrHttpDate_TheWait(string value, double seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), _saturation.ParseRetryAfter(value));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("soon")]
    [InlineData("Mon, 30 Nov 2026 11:59:00 GMT")]
    public void ParseRetryAfter_NoWaitOrNotAValue_Null(string? value)
    {
        Assert.Null(_saturation.ParseRetryAfter(value));
    }
}
