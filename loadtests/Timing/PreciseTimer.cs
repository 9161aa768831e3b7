using System.Diagnostics;

namespace ServingGateway.LoadTool.Timing;

/// <summary>
/// A timer of <see cref="PreciseTimeProvider"/>. <see cref="Change"/> replaces the pending firing:
/// each change bumps a generation, and queue entries of an older generation are skipped.
/// </summary>
internal sealed class PreciseTimer(PreciseTimeProvider provider, TimerCallback callback, object? state) : ITimer
{
    private readonly Lock _lock = new();
    private long _generation;
    private long _scheduledGeneration = -1;
    private long _dueTimestamp;
    private long _periodTicks;
    private bool _disposed;

    public bool Change(TimeSpan dueTime, TimeSpan period)
    {
        long due;
        lock (_lock)
        {
            if (_disposed)
            {
                return false;
            }

            _generation++;
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                return true;
            }

            _periodTicks = period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero ? 0 : ToTicks(period);
            _dueTimestamp = provider.GetTimestamp() + ToTicks(dueTime < TimeSpan.Zero ? TimeSpan.Zero : dueTime);
            _scheduledGeneration = _generation;
            due = _dueTimestamp;
        }

        provider.Schedule(this, due);
        return true;
    }

    /// <summary>Called by the provider's thread when a queue entry for this timer is due.</summary>
    internal void Fire(long dueTimestamp)
    {
        long next = 0;
        lock (_lock)
        {
            // A stale entry: the timer was changed or disposed after this entry was queued.
            if (_disposed || _scheduledGeneration != _generation || dueTimestamp != _dueTimestamp)
            {
                return;
            }

            if (_periodTicks > 0)
            {
                _dueTimestamp += _periodTicks;
                next = _dueTimestamp;
            }
            else
            {
                _scheduledGeneration = -1;
            }
        }

        if (next != 0)
        {
            provider.Schedule(this, next);
        }

        callback(state);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
