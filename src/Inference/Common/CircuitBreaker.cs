using Microsoft.Extensions.Logging;

namespace ServingGateway.Inference.Common;

/// <summary>
/// Common (shared by the node's Redis cache tier and the edge's Redis rate limits): keeps a failing or slow dependency out of the request path: after N consecutive failures it opens for
/// a while, then lets one probe through (half-open); the probe's outcome closes or reopens it. It logs
/// each change of state once, never each request.
/// </summary>
/// <remarks>
/// The probe is released whatever ends its call: every caller disposes the <see cref="Lease"/> that
/// <see cref="TryEnter"/> gave it (in a <c>using</c>), so a probe cancelled or ended by an unexpected
/// exception lets the next call probe at once. A probe that reports nothing for a whole open period is
/// presumed lost and another is let through, so the circuit can never stay half-open for good.
/// </remarks>
public sealed partial class CircuitBreaker
{
    private readonly Lock _lock = new();
    private readonly int _failuresToOpen;
    private readonly TimeSpan _openFor;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _name;
    private int _failures;
    private long _openedAt;
    private bool _probing;
    private long _probeStartedAt;
    private long _probeId;
    private volatile CircuitState _state = CircuitState.Closed;

    /// <summary>A closed circuit over the dependency <paramref name="name"/> (as logs name it; never a secret).</summary>
    /// <param name="name">The dependency, for the log lines of state changes.</param>
    /// <param name="failuresToOpen">Consecutive failures that open the circuit.</param>
    /// <param name="openFor">How long it stays open before one probe is let through.</param>
    /// <param name="time">The clock of the open period.</param>
    /// <param name="logger">Where state changes are logged.</param>
    public CircuitBreaker(string name, int failuresToOpen, TimeSpan openFor, TimeProvider time, ILogger logger)
    {
        _name = name;
        _failuresToOpen = failuresToOpen;
        _openFor = openFor;
        _time = time;
        _logger = logger;
    }

    /// <summary>The current state.</summary>
    public CircuitState State => _state;

    /// <summary>
    /// True when a call may go through now: closed, or the one probe of a half-open circuit. The caller
    /// reports the call's outcome (<see cref="Succeeded"/>, <see cref="Failed"/>) and disposes
    /// <paramref name="lease"/> whatever ends the call.
    /// </summary>
    public bool TryEnter(out Lease lease)
    {
        lease = default;
        if (_state == CircuitState.Closed)
        {
            return true;
        }

        lock (_lock)
        {
            if (_state == CircuitState.Open && _time.GetElapsedTime(_openedAt) >= _openFor)
            {
                _state = CircuitState.HalfOpen;
                _probing = false;
            }

            if (_state == CircuitState.HalfOpen && _probing && _time.GetElapsedTime(_probeStartedAt) >= _openFor)
            {
                _probing = false; // its call never reported: presumed lost
            }

            if (_state == CircuitState.HalfOpen && !_probing)
            {
                _probing = true;
                _probeStartedAt = _time.GetTimestamp();
                lease = new Lease(this, ++_probeId);
                return true;
            }

            return _state == CircuitState.Closed;
        }
    }

    /// <summary>A call that entered succeeded.</summary>
    public void Succeeded()
    {
        if (_state == CircuitState.Closed)
        {
            if (Volatile.Read(ref _failures) != 0)
            {
                Interlocked.Exchange(ref _failures, 0);
            }

            return;
        }

        lock (_lock)
        {
            if (_state == CircuitState.HalfOpen)
            {
                _state = CircuitState.Closed;
                _failures = 0;
                _probing = false;
                Log.Closed(_logger, _name);
            }
        }
    }

    /// <summary>A call that entered failed (an error, or slower than its budget).</summary>
    public void Failed(string reason)
    {
        if (_state == CircuitState.Closed && Interlocked.Increment(ref _failures) < _failuresToOpen)
        {
            return;
        }

        lock (_lock)
        {
            if (_state == CircuitState.Closed && _failures >= _failuresToOpen)
            {
                Open();
                Log.Opened(_logger, _name, _failures, _openFor.TotalSeconds, reason);
            }
            else if (_state == CircuitState.HalfOpen)
            {
                Open();
                Log.ProbeFailed(_logger, _name, reason);
            }
        }
    }

    // The probe's call ended; if it reported nothing (cancelled, an unexpected exception), the next call probes.
    private void Release(long probe)
    {
        lock (_lock)
        {
            if (_state == CircuitState.HalfOpen && _probing && _probeId == probe)
            {
                _probing = false;
            }
        }
    }

    private void Open()
    {
        _state = CircuitState.Open;
        _openedAt = _time.GetTimestamp();
        _probing = false;
    }

    /// <summary>A call let through; disposing it releases the probe of a half-open circuit if the call reported nothing.</summary>
    public readonly struct Lease : IDisposable
    {
        private readonly CircuitBreaker? _breaker;
        private readonly long _probe;

        internal Lease(CircuitBreaker breaker, long probe)
        {
            _breaker = breaker;
            _probe = probe;
        }

        /// <summary>Whether this call is the probe of a half-open circuit.</summary>
        public bool IsProbe => _breaker is not null;

        /// <inheritdoc />
        public void Dispose() => _breaker?.Release(_probe);
    }

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Warning, "{Name} is unavailable after {Failures} consecutive failures ({Reason}); going on without it, probing again every {Seconds} s")]
        public static partial void Opened(ILogger logger, string name, int failures, double seconds, string reason);

        [LoggerMessage(41, LogLevel.Information, "{Name} answers again; using it")]
        public static partial void Closed(ILogger logger, string name);

        [LoggerMessage(42, LogLevel.Debug, "{Name} probe failed ({Reason}); still going on without it")]
        public static partial void ProbeFailed(ILogger logger, string name, string reason);
    }
}
