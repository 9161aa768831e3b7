using ServingGateway.LoadTool.Results;

namespace ServingGateway.LoadTool.Load;

/// <summary>
/// Closed-loop load: <c>clients</c> workers, each sending its next request when the previous
/// answer has been read. Latency runs from the actual send, so a server stall delays the senders
/// too and shows only in the requests that were in flight: the coordinated omission of classic
/// load generators (wrk, ab), kept here on purpose for comparison and for concurrency tests.
/// </summary>
internal sealed class ClosedLoopRunner(int clients, TimeSpan totalDuration, TimeProvider timeProvider, SendRequest send, LatencyRecorder recorder)
{
    private long _counter = -1;
    private int _inFlight;

    /// <summary>Requests sent and not yet finished.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Runs the workers from <paramref name="start"/> until warm-up plus duration have passed.</summary>
    public Task RunAsync(long start, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(clients, 1);
        var end = start + (long)(totalDuration.TotalSeconds * timeProvider.TimestampFrequency);
        return Task.WhenAll(Enumerable.Range(0, clients).Select(_ => WorkerAsync(end, cancellationToken)));
    }

    private async Task WorkerAsync(long end, CancellationToken cancellationToken)
    {
        await Task.Yield();
        while (!cancellationToken.IsCancellationRequested && timeProvider.GetTimestamp() < end)
        {
            Interlocked.Increment(ref _inFlight);
            var sent = timeProvider.GetTimestamp();
            var outcome = await send(Interlocked.Increment(ref _counter), cancellationToken).ConfigureAwait(false);
            recorder.Record(sent, sent, timeProvider.GetTimestamp(), outcome);
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
