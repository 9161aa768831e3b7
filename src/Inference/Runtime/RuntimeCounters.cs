namespace ServingGateway.Inference.Runtime;

/// <summary>
/// Counts the ONNX Runtime objects one repository holds, so tests can show that unloading frees
/// every session and that no request leaves a native tensor behind.
/// </summary>
internal sealed class RuntimeCounters
{
    private long _sessions;
    private long _values;

    /// <summary>Sessions created and not yet disposed.</summary>
    public long LiveSessions => Interlocked.Read(ref _sessions);

    /// <summary>Request tensors (OrtValue) created and not yet disposed.</summary>
    public long LiveValues => Interlocked.Read(ref _values);

    public void SessionCreated() => Interlocked.Increment(ref _sessions);

    public void SessionDisposed() => Interlocked.Decrement(ref _sessions);

    public void ValuesCreated(int count) => Interlocked.Add(ref _values, count);

    public void ValuesDisposed(int count) => Interlocked.Add(ref _values, -count);
}
