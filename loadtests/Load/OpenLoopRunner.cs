using ServingGateway.LoadTool.Results;

namespace ServingGateway.LoadTool.Load;

/// <summary>
/// Open-loop load (wrk2's model): request <c>i</c> is due at start + <see cref="ArrivalSchedule.OffsetOf"/>
/// whatever happened to earlier requests, and its latency is measured from that intended time. A
/// server that stalls for a second therefore shows the stall in the latency of every request that
/// should have been sent meanwhile, not only in the one that was in flight (no coordinated omission).
/// </summary>
/// <remarks>
/// One timer drives the schedule: each tick sends every request that is due and re-arms the timer
/// for the next. At most <c>maxInFlight</c> requests are outstanding; when the cap is reached the
/// schedule waits for a completion, and the requests sent late because of it (or because the tick
/// came late) count in <see cref="OpenLoopStats.LateSends"/>. Their latency still runs from their
/// intended time.
/// </remarks>
internal sealed class OpenLoopRunner
{
    private readonly ArrivalSchedule _schedule;
    private readonly TimeProvider _timeProvider;
    private readonly int _maxInFlight;
    private readonly SendRequest _send;
    private readonly LatencyRecorder _recorder;
    private readonly long _measureStart;
    private readonly long _lateTicks;
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ITimer? _timer;
    private CancellationToken _cancellationToken;
    private long _start;
    private long _next;
    private int _inFlight;
    private int _peakInFlight;
    private long _late;
    private long _capHits;
    private long _scheduledMeasured;
    private bool _inTick;
    private bool _tickAgain;
    private volatile bool _waitingForSlot;
    private bool _dispatchDone;

    /// <param name="schedule">The arrivals, warm-up included.</param>
    /// <param name="timeProvider">The clock of the schedule and of the latencies.</param>
    /// <param name="maxInFlight">The most requests outstanding at once.</param>
    /// <param name="send">Sends one request.</param>
    /// <param name="recorder">Where outcomes go.</param>
    /// <param name="measureStart">The timestamp where warm-up ends; requests due before are not measured.</param>
    public OpenLoopRunner(ArrivalSchedule schedule, TimeProvider timeProvider, int maxInFlight, SendRequest send, LatencyRecorder recorder, long measureStart)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlight, 1);
        _schedule = schedule;
        _timeProvider = timeProvider;
        _maxInFlight = maxInFlight;
        _send = send;
        _recorder = recorder;
        _measureStart = measureStart;
        _lateTicks = (long)(OpenLoopStats.LateThresholdMs / 1000 * timeProvider.TimestampFrequency);
    }

    /// <summary>Requests sent and not yet finished.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>
    /// Runs the schedule from <paramref name="start"/> (a timestamp, normally now) and returns once
    /// every request sent has finished. Cancelling stops sending; requests in flight are cancelled.
    /// </summary>
    public async Task<OpenLoopStats> RunAsync(long start, CancellationToken cancellationToken)
    {
        _start = start;
        _cancellationToken = cancellationToken;
        using var registration = cancellationToken.Register(() => Tick());
        _timer = _timeProvider.CreateTimer(_ => Tick(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        await using (_timer.ConfigureAwait(false))
        {
            Tick();
            await _done.Task.ConfigureAwait(false);
        }

        lock (_lock)
        {
            return new OpenLoopStats(_scheduledMeasured, _late, _capHits, _peakInFlight);
        }
    }

    private void Tick()
    {
        lock (_lock)
        {
            // A send that completes synchronously re-enters through OnFinished; the outer loop picks up.
            if (_inTick)
            {
                _tickAgain = true;
                return;
            }

            _inTick = true;
            try
            {
                do
                {
                    _tickAgain = false;
                    DispatchDue();
                }
                while (_tickAgain);
            }
            finally
            {
                _inTick = false;
            }

            CompleteIfDone();
        }
    }

    private void DispatchDue()
    {
        _waitingForSlot = false;
        var now = _timeProvider.GetTimestamp();
        while (_next < _schedule.Count && !_cancellationToken.IsCancellationRequested)
        {
            var due = _start + ToTimestamp(_schedule.OffsetOf(_next));
            if (due > now)
            {
                _timer!.Change(_timeProvider.GetElapsedTime(now, due), Timeout.InfiniteTimeSpan);
                return;
            }

            if (_inFlight >= _maxInFlight)
            {
                _capHits++;
                _waitingForSlot = true;
                return;
            }

            if (now - due > _lateTicks && due >= _measureStart)
            {
                _late++;
            }

            if (due >= _measureStart)
            {
                _scheduledMeasured++;
            }

            _inFlight++;
            _peakInFlight = Math.Max(_peakInFlight, _inFlight);
            _ = SendAsync(_next++, due);
            now = _timeProvider.GetTimestamp();
        }

        _dispatchDone = true;
    }

    private async Task SendAsync(long index, long intended)
    {
        try
        {
            var sent = _timeProvider.GetTimestamp();
            var outcome = await _send(index, _cancellationToken).ConfigureAwait(false);
            _recorder.Record(intended, sent, _timeProvider.GetTimestamp(), outcome);
        }
        finally
        {
            // Whatever happened, the slot is free again; a lost decrement would hang the run.
            OnFinished();
        }
    }

    private void OnFinished()
    {
        lock (_lock)
        {
            _inFlight--;
            if (_waitingForSlot)
            {
                Tick();
            }
            else
            {
                CompleteIfDone();
            }
        }
    }

    private void CompleteIfDone()
    {
        if (_dispatchDone && _inFlight == 0)
        {
            _done.TrySetResult();
        }
    }

    private long ToTimestamp(TimeSpan offset) => (long)(offset.TotalSeconds * _timeProvider.TimestampFrequency);
}
