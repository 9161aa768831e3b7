using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ServingGateway.LoadTool.Timing;

/// <summary>
/// The system clock with timers that fire within tens of microseconds of their due time. The
/// open-loop scheduler needs this: at 2 000 req/s requests are 0.5 ms apart, but
/// <see cref="TimeProvider.System"/> timers round to whole milliseconds, and an arrival sent late
/// counts in its latency (latency is measured from the intended send time).
/// </summary>
/// <remarks>
/// One dedicated thread runs every timer of this provider, in due order, and invokes the callbacks
/// on itself: a callback must be short (the scheduler only starts sends). Waits longer than 2 ms
/// use <see cref="Monitor.Wait(object, int)"/>; the last 2 ms use <c>clock_nanosleep</c> on Linux
/// with the thread's timer slack set to 1 ns, and <see cref="Thread.Sleep(int)"/> elsewhere (so
/// other systems get millisecond precision). A timer added while the thread is in that last short
/// sleep is looked at when it wakes, at most 2 ms later. Timestamps are <see cref="Stopwatch"/>'s.
/// Dispose stops the thread; timers created afterwards never fire.
/// </remarks>
internal sealed partial class PreciseTimeProvider : TimeProvider, IDisposable
{
    private static readonly long SpinThreshold = Stopwatch.Frequency / 500; // 2 ms

    // An object, not a Lock: the timer thread waits on it with Monitor.Wait.
    private readonly object _lock = new();
    private readonly PriorityQueue<PreciseTimer, long> _queue = new();
    private readonly Thread _thread;
    private bool _disposed;

    public PreciseTimeProvider()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "LoadTool timers", Priority = ThreadPriority.AboveNormal };
        _thread.Start();
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new PreciseTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _queue.Clear();
            Monitor.PulseAll(_lock);
        }

        _thread.Join();
    }

    /// <summary>Queues <paramref name="timer"/> to fire at <paramref name="dueTimestamp"/>.</summary>
    internal void Schedule(PreciseTimer timer, long dueTimestamp)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _queue.Enqueue(timer, dueTimestamp);
            Monitor.PulseAll(_lock);
        }
    }

    private void Run()
    {
        SetTimerSlack();
        while (true)
        {
            PreciseTimer? due = null;
            long dueTimestamp = 0;
            long wait;
            lock (_lock)
            {
                if (_disposed)
                {
                    return;
                }

                if (!_queue.TryPeek(out var next, out dueTimestamp))
                {
                    Monitor.Wait(_lock);
                    continue;
                }

                wait = dueTimestamp - GetTimestamp();
                if (wait <= 0)
                {
                    due = _queue.Dequeue();
                }
                else if (wait > SpinThreshold)
                {
                    // Woken early by a new timer; the loop looks at the queue again.
                    Monitor.Wait(_lock, (int)((wait - (SpinThreshold / 2)) * 1000 / Stopwatch.Frequency));
                    continue;
                }
            }

            if (due is not null)
            {
                due.Fire(dueTimestamp);
            }
            else
            {
                SleepPrecisely(wait);
            }
        }
    }

    private static void SleepPrecisely(long ticks)
    {
        if (OperatingSystem.IsLinux())
        {
            var nanoseconds = ticks * (1_000_000_000 / Stopwatch.Frequency);
            var request = new Timespec { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };
            _ = ClockNanosleep(ClockMonotonic, 0, in request, IntPtr.Zero);
        }
        else
        {
            Thread.Sleep(1);
        }
    }

    private static void SetTimerSlack()
    {
        if (OperatingSystem.IsLinux())
        {
            // The default slack (50 µs) would add that much to every arrival's latency.
            _ = Prctl(PrSetTimerSlack, 1, 0, 0, 0);
        }
    }

    private const int ClockMonotonic = 1;
    private const int PrSetTimerSlack = 29;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int ClockNanosleep(int clockId, int flags, in Timespec request, IntPtr remain);

    [LibraryImport("libc", EntryPoint = "prctl")]
    private static partial int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);
}
