namespace ServingGateway.Batching;

/// <summary>
/// How fast rows arrive while other rows are already waiting: rows that arrived to a non-empty queue,
/// divided by the time the queue was non-empty, both decayed with a time constant.
/// </summary>
/// <remarks>
/// Conditioning on a non-empty queue is what makes waiting pay: one client that sends its next request
/// only after the answer never arrives while its own request waits, so the rate is 0 and nobody waits
/// for it; many clients, or an open-loop stream, arrive while others wait, and the rate says how soon
/// the next row comes. Not thread-safe: the batcher's consumer loop owns it.
/// </remarks>
internal sealed class ArrivalRateEstimator
{
    private readonly double _timeConstantTicks;
    private double _rows;
    private double _busyTicks;
    private long _last;
    private bool _started;

    /// <param name="timeConstant">How fast old observations fade.</param>
    /// <param name="frequency">Timestamp ticks per second.</param>
    public ArrivalRateEstimator(TimeSpan timeConstant, long frequency)
    {
        _timeConstantTicks = timeConstant.TotalSeconds * frequency;
    }

    /// <summary>Accounts for the time since the last call; <paramref name="queueWasNonEmpty"/> says how the queue was meanwhile.</summary>
    public void Advance(long now, bool queueWasNonEmpty)
    {
        if (!_started)
        {
            _started = true;
            _last = now;
            return;
        }

        var dt = now - _last;
        if (dt <= 0)
        {
            return;
        }

        var decay = Math.Exp(-dt / _timeConstantTicks);
        _rows *= decay;
        _busyTicks = (_busyTicks * decay) + (queueWasNonEmpty ? dt : 0);
        _last = now;
    }

    /// <summary>Counts rows that arrived while the queue held others.</summary>
    public void ArrivedWhileQueued(int rows) => _rows += rows;

    /// <summary>Rows per timestamp tick while the queue is non-empty; 0 without evidence.</summary>
    public double RowsPerTick => _busyTicks > 0 ? _rows / _busyTicks : 0;
}
