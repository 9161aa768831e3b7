using Microsoft.Extensions.Logging;

namespace ServingGateway.Inference.Caching;

/// <summary>
/// Keeps a failing or slow dependency out of the request path: after N consecutive failures it opens for
/// a while, then lets one probe through (half-open); the probe's outcome closes or reopens it. It logs
/// each change of state once, never each request.
/// </summary>
internal sealed partial class CircuitBreaker
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
    private volatile CircuitState _state = CircuitState.Closed;

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

    /// <summary>True when a call may go through now: closed, or the one probe of a half-open circuit.</summary>
    public bool TryEnter()
    {
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

            if (_state == CircuitState.HalfOpen && !_probing)
            {
                _probing = true;
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

    private void Open()
    {
        _state = CircuitState.Open;
        _openedAt = _time.GetTimestamp();
        _probing = false;
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
