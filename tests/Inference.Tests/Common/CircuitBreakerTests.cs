using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Inference.Common;

namespace ServingGateway.Inference.Tests.Common;

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
        Assert.True(breaker.TryEnter(out _));
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
        Assert.False(breaker.TryEnter(out _));
        _time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.False(breaker.TryEnter(out _));
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

        Assert.True(breaker.TryEnter(out _));
        Assert.Equal(CircuitState.HalfOpen, breaker.State);
        Assert.False(breaker.TryEnter(out _));
        breaker.Succeeded();
        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.True(breaker.TryEnter(out _));
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
        Assert.True(breaker.TryEnter(out _));

        breaker.Failed("still down");

        Assert.Equal(CircuitState.Open, breaker.State);
        Assert.False(breaker.TryEnter(out _));
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(breaker.TryEnter(out _));
    }

    private CircuitBreaker Opened()
    {
        var breaker = Create();
        for (var i = 0; i < 3; i++)
        {
            breaker.Failed("x");
        }

        _time.Advance(TimeSpan.FromSeconds(2));
        return breaker;
    }

    [Fact]
    public void Probe_EndedWithoutOutcome_NextCallProbesAtOnce()
    {
        var breaker = Opened();
        Assert.True(breaker.TryEnter(out var probe));
        Assert.True(probe.IsProbe);
        Assert.False(breaker.TryEnter(out _));

        probe.Dispose(); // cancelled mid-flight: neither Succeeded nor Failed

        Assert.True(breaker.TryEnter(out var next));
        Assert.True(next.IsProbe);
        breaker.Succeeded();
        next.Dispose();
        Assert.Equal(CircuitState.Closed, breaker.State);
    }

    [Fact]
    public void Probe_CancelledRepeatedly_ThenSucceeds_Closes()
    {
        var breaker = Opened();
        for (var i = 0; i < 5; i++)
        {
            Assert.True(breaker.TryEnter(out var cancelled));
            using (cancelled)
            {
                // the call is cancelled: nothing is reported
            }
        }

        Assert.True(breaker.TryEnter(out var probe));
        using (probe)
        {
            breaker.Succeeded();
        }

        Assert.Equal(CircuitState.Closed, breaker.State);
    }

    [Fact]
    public void Probe_NeverReportedNorDisposed_PresumedLostAfterAnOpenPeriod()
    {
        var breaker = Opened();
        Assert.True(breaker.TryEnter(out _));
        _time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.False(breaker.TryEnter(out _));

        _time.Advance(TimeSpan.FromSeconds(0.1));

        Assert.True(breaker.TryEnter(out var next));
        Assert.True(next.IsProbe);
    }

    [Fact]
    public void Lease_OfAnEarlierProbe_DoesNotReleaseTheProbeInFlight()
    {
        var breaker = Opened();
        Assert.True(breaker.TryEnter(out var first));
        breaker.Failed("still down");
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(breaker.TryEnter(out var second));

        first.Dispose();

        Assert.False(breaker.TryEnter(out _));
        second.Dispose();
        Assert.True(breaker.TryEnter(out _));
    }

    [Fact]
    public void Lease_WhileClosed_IsNoProbeAndDisposingChangesNothing()
    {
        var breaker = Create();
        Assert.True(breaker.TryEnter(out var lease));
        Assert.False(lease.IsProbe);

        lease.Dispose();

        Assert.Equal(CircuitState.Closed, breaker.State);
    }
}
