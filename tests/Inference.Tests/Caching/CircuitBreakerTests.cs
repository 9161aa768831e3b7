using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Inference.Caching;

namespace ServingGateway.Inference.Tests.Caching;

public class CircuitBreakerTests
{
    private readonly FakeTimeProvider _time = new();

    private CircuitBreaker Create() => new("redis", 3, TimeSpan.FromSeconds(2), _time, NullLogger.Instance);

    [Fact]
    public void Failed_BelowThreshold_StaysClosedAndSuccessResets()
    {
        var breaker = Create();
        breaker.Failed("x");
        breaker.Failed("x");
        breaker.Succeeded();
        breaker.Failed("x");
        breaker.Failed("x");

        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.True(breaker.TryEnter());
    }

    [Fact]
    public void Failed_ThresholdReached_OpensAndRefuses()
    {
        var breaker = Create();
        for (var i = 0; i < 3; i++)
        {
            breaker.Failed("x");
        }

        Assert.Equal(CircuitState.Open, breaker.State);
        Assert.False(breaker.TryEnter());
        _time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.False(breaker.TryEnter());
    }

    [Fact]
    public void OpenTimePassed_LetsOneProbeThrough_SuccessCloses()
    {
        var breaker = Create();
        for (var i = 0; i < 3; i++)
        {
            breaker.Failed("x");
        }

        _time.Advance(TimeSpan.FromSeconds(2));

        Assert.True(breaker.TryEnter());
        Assert.Equal(CircuitState.HalfOpen, breaker.State);
        Assert.False(breaker.TryEnter());
        breaker.Succeeded();
        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.True(breaker.TryEnter());
    }

    [Fact]
    public void ProbeFails_ReopensForAnotherPeriod()
    {
        var breaker = Create();
        for (var i = 0; i < 3; i++)
        {
            breaker.Failed("x");
        }

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(breaker.TryEnter());

        breaker.Failed("still down");

        Assert.Equal(CircuitState.Open, breaker.State);
        Assert.False(breaker.TryEnter());
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(breaker.TryEnter());
    }
}
