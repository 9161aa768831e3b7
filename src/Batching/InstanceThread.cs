namespace ServingGateway.Batching;

/// <summary>
/// A thread of its own for one instance's batches. Running a batch blocks its thread for the whole model
/// run (ONNX Runtime's Run is synchronous); on the thread pool each running batch held a pool thread, the
/// pool injected threads to make up for them, and request continuations queued behind (docs/PERFORMANCE.md).
/// </summary>
/// <remarks>
/// The caller posts one piece of work at a time: the next only after the previous one has finished (the
/// batcher runs at most one batch per instance). Dispose stops the thread once its current work is done.
/// </remarks>
internal sealed class InstanceThread : IDisposable
{
    private readonly SemaphoreSlim _posted = new(0);
    private Action<object?>? _work;
    private object? _state;
    private volatile bool _stopped;

    public InstanceThread(string name)
    {
        var thread = new Thread(Run) { IsBackground = true, Name = name };
        thread.Start();
    }

    /// <summary>Runs <paramref name="work"/>(<paramref name="state"/>) on this thread.</summary>
    public void Post(Action<object?> work, object? state)
    {
        _work = work;
        _state = state;
        _posted.Release(); // a full fence: the thread sees the work it is woken for
    }

    public void Dispose()
    {
        _stopped = true;
        _posted.Release();
    }

    private void Run()
    {
        while (true)
        {
            _posted.Wait();
            if (_stopped)
            {
                _posted.Dispose();
                return;
            }

            var work = _work!;
            var state = _state;
            _work = null;
            _state = null;
            work(state);
        }
    }
}
