using System.Collections.Concurrent;

namespace ServingGateway.Inference.Runtime;

/// <summary>
/// Counts the ONNX Runtime objects one repository holds, so tests can show that unloading frees
/// every session and that no request leaves a native tensor behind.
/// </summary>
/// <remarks>
/// Counts alone cannot show a leak: a tensor created and disposed in one call is back to 0 whenever no
/// request runs. With <see cref="StartTracking"/> (tests only; off in production, where it would cost a
/// weak reference per tensor) every session and every OrtValue, those given to a run and those a run
/// returns, is also remembered by a weak reference, and <see cref="CountReachable"/> says how many of
/// each are still held by something after a garbage collection.
/// </remarks>
internal sealed class RuntimeCounters
{
    private long _sessions;
    private long _values;
    private Tracked? _tracked;

    /// <summary>Sessions created and not yet disposed.</summary>
    public long LiveSessions => Interlocked.Read(ref _sessions);

    /// <summary>Request tensors (OrtValue, given to a run or returned by it) created and not yet disposed.</summary>
    public long LiveValues => Interlocked.Read(ref _values);

    /// <summary>Sessions remembered since <see cref="StartTracking"/>.</summary>
    public long TrackedSessions => Volatile.Read(ref _tracked)?.Sessions.Count ?? 0;

    /// <summary>OrtValues remembered since <see cref="StartTracking"/>.</summary>
    public long TrackedValues => Volatile.Read(ref _tracked)?.Values.Count ?? 0;

    /// <summary>From now on, remembers each session and OrtValue created by a weak reference.</summary>
    public void StartTracking() => Interlocked.CompareExchange(ref _tracked, new Tracked(), null);

    /// <summary>
    /// How many of the tracked sessions and OrtValues are still reachable. Call it after a full, blocking
    /// garbage collection: a weak reference dies only when a collection finds its object unreachable.
    /// </summary>
    public (int Sessions, int Values) CountReachable() =>
        Volatile.Read(ref _tracked) is { } tracked ? (tracked.Sessions.Count(w => w.IsAlive), tracked.Values.Count(w => w.IsAlive)) : (0, 0);

    public void SessionCreated(object session)
    {
        Interlocked.Increment(ref _sessions);
        if (Volatile.Read(ref _tracked) is { } tracked)
        {
            tracked.Sessions.Enqueue(new WeakReference(session));
        }
    }

    public void SessionDisposed() => Interlocked.Decrement(ref _sessions);

    public void ValueCreated(object value)
    {
        Interlocked.Increment(ref _values);
        if (Volatile.Read(ref _tracked) is { } tracked)
        {
            tracked.Values.Enqueue(new WeakReference(value));
        }
    }

    public void ValuesDisposed(int count) => Interlocked.Add(ref _values, -count);

    private sealed class Tracked
    {
        public ConcurrentQueue<WeakReference> Sessions { get; } = new();

        public ConcurrentQueue<WeakReference> Values { get; } = new();
    }
}
