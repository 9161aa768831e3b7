using Microsoft.Extensions.Time.Testing;
using ServingGateway.TestSupport;

namespace ServingGateway.Batching.Tests;

public sealed partial class DynamicBatcherTests : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new();
    private readonly ManualResetEventSlim _gate = new(initialState: true);
    private readonly SemaphoreSlim _started = new(0);
    private readonly List<string> _executed = [];
    private DynamicBatcher<string, string>? _batcher;

    public async ValueTask DisposeAsync()
    {
        _gate.Set();
        if (_batcher is not null)
        {
            await _batcher.DisposeAsync();
        }

        _gate.Dispose();
        _started.Dispose();
    }

    private DynamicBatcher<string, string> Create(int maxBatch = 4, int maxQueue = 8, int instances = 1, long maxQueueBytes = long.MaxValue) =>
        Create(new BatchingOptions { MaxBatchRows = maxBatch, MaxQueueRows = maxQueue, Instances = instances, MaxQueueBytes = maxQueueBytes });

    private DynamicBatcher<string, string> Create(BatchingOptions options) =>
        _batcher = new DynamicBatcher<string, string>(
            options,
            (instance, batch) =>
            {
                lock (_executed)
                {
                    _executed.AddRange(batch.Select(e => e.Request));
                }

                _started.Release();
                _gate.Wait();
                foreach (var entry in batch)
                {
                    entry.Complete($"{entry.Request}@{instance}/{batch.Length}");
                }
            },
            _time);

    // Blocks the only instance with one request, so the next ones stay queued.
    private async Task<Task<string>> OccupyAsync(DynamicBatcher<string, string> batcher)
    {
        _gate.Reset();
        var busy = batcher.EnqueueAsync("busy", 1, 0, "k", 0, null, CancellationToken.None);
        Assert.True(await _started.WaitAsync(Patience));
        return busy;
    }

    [Fact]
    public async Task Enqueue_LoneRequest_RunsWithoutAnyTimePassing()
    {
        var batcher = Create();

        var result = await batcher.EnqueueAsync("a", 1, 0, "k", 0, null, CancellationToken.None).WaitAsync(Patience);

        Assert.Equal("a@0/1", result);
    }

    [Fact]
    public async Task Execute_ShortBatchesOnThePool_LongAndUnmeasuredOnesOnTheInstanceThread()
    {
        var ranOnPool = new List<(string Request, bool OnPool)>();
        _batcher = new DynamicBatcher<string, string>(
            new BatchingOptions { MaxBatchRows = 4, MaxQueueRows = 8, Instances = 1, Overload = OverloadPolicy.Queue },
            (instance, batch) =>
            {
                lock (ranOnPool)
                {
                    ranOnPool.Add((batch[0].Request, Thread.CurrentThread.IsThreadPoolThread));
                }

                // How long the batch takes, on the batcher's clock: 0.1 ms, or 50 ms for "long".
                _time.Advance(batch[0].Request.StartsWith("long", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromMicroseconds(100));
                foreach (var entry in batch)
                {
                    entry.Complete(entry.Request);
                }
            },
            _time);

        foreach (var request in (string[])["short-1", "short-2", "long-1", "long-2", "short-3"])
        {
            Assert.Equal(request, await _batcher.EnqueueAsync(request, 1, 0, "k", 0, null, CancellationToken.None).WaitAsync(Patience));
        }

        // short-1: nothing measured yet, the instance's thread; short-2 and long-1: measured at 0.1 ms, the pool; long-2:
        // the estimate after long-1's 50 ms (a weighted average, 10 ms) is past ShortRun, and so is short-3's (18 ms).
        Assert.True(DynamicBatcher<string, string>.ShortRun > TimeSpan.FromMicroseconds(100) && DynamicBatcher<string, string>.ShortRun < TimeSpan.FromMilliseconds(10));
        Assert.Equal([("short-1", false), ("short-2", true), ("long-1", true), ("long-2", false), ("short-3", false)], ranOnPool);
    }

    [Fact]
    public async Task Enqueue_WhileInstanceBusy_QueuedRequestsRunAsOneBatch()
    {
        var batcher = Create(maxBatch: 4);
        var busy = await OccupyAsync(batcher);
        var queued = new[] { "a", "b", "c" }.Select(n => batcher.EnqueueAsync(n, 1, 0, "k", 0, null, CancellationToken.None)).ToArray();
        await WaitUntilAsync(() => batcher.QueuedRows == 3);

        _gate.Set();

        Assert.Equal("busy@0/1", await busy.WaitAsync(Patience));
        Assert.Equal(["a@0/3", "b@0/3", "c@0/3"], await Task.WhenAll(queued).WaitAsync(Patience));
    }

    [Fact]
    public async Task Enqueue_QueueFull_IsRefusedAtOnceWithRetryAfter()
    {
        var batcher = Create(maxBatch: 2, maxQueue: 4);
        var busy = await OccupyAsync(batcher);
        var queued = new[] { 2, 2 }.Select((rows, i) => batcher.EnqueueAsync($"q{i}", rows, 0, "k", 0, null, CancellationToken.None)).ToArray();

        // Refused synchronously, before any task exists: the caller answers 503 at once.
        var ex = Assert.Throws<BatchRejectedException>(() => { _ = batcher.EnqueueAsync("overflow", 1, 0, "k", 0, null, CancellationToken.None); });

        Assert.Contains("queue is full", ex.Message, StringComparison.Ordinal);
        Assert.Equal(RejectionReason.QueueRows, ex.Reason);
        Assert.Equal(1, batcher.Counters.RejectedFor(RejectionReason.QueueRows));
        Assert.Equal(0, batcher.Counters.RejectedFor(RejectionReason.QueueBytes));
        Assert.True(ex.RetryAfter >= TimeSpan.FromSeconds(1));
        Assert.Equal(4, batcher.QueuedRows);
        _gate.Set();
        await Task.WhenAll([busy, .. queued]).WaitAsync(Patience);
        Assert.DoesNotContain("overflow", _executed);
    }

    [Fact]
    public async Task Enqueue_QueueBytesFull_IsRefusedAtOnceWithRetryAfter()
    {
        var batcher = Create(maxQueue: 8, maxQueueBytes: 100);
        var busy = await OccupyAsync(batcher);
        var queued = new[] { 60L, 40L }.Select((bytes, i) => batcher.EnqueueAsync($"q{i}", 1, bytes, "k", 0, null, CancellationToken.None)).ToArray();

        // Two rows of eight queued, but the 100 bytes are spent: one byte more is refused at once.
        var ex = Assert.Throws<BatchRejectedException>(() => { _ = batcher.EnqueueAsync("overflow", 1, 1, "k", 0, null, CancellationToken.None); });

        Assert.Contains("queue is full (100 bytes of inputs waiting, max_queue_mb allows 100)", ex.Message, StringComparison.Ordinal);
        Assert.Equal(RejectionReason.QueueBytes, ex.Reason);
        Assert.Equal(1, batcher.Counters.RejectedFor(RejectionReason.QueueBytes));
        Assert.Equal(0, batcher.Counters.RejectedFor(RejectionReason.QueueRows));
        Assert.True(ex.RetryAfter >= TimeSpan.FromSeconds(1));
        Assert.Equal(100, batcher.QueuedBytes);
        Assert.Equal(2, batcher.QueuedRows);
        _gate.Set();
        await Task.WhenAll([busy, .. queued]).WaitAsync(Patience);
        Assert.DoesNotContain("overflow", _executed);
        Assert.Equal(0, batcher.QueuedBytes);
    }

    [Fact]
    public async Task Enqueue_LargerThanTheByteLimitIntoAnEmptyQueue_IsAdmittedAlone()
    {
        var batcher = Create(maxQueueBytes: 100);
        var busy = await OccupyAsync(batcher);

        // Refused, a request larger than the whole limit could never run; alone it is admitted, and fills the queue.
        var large = batcher.EnqueueAsync("large", 1, 500, "k", 0, null, CancellationToken.None);
        Assert.Throws<BatchRejectedException>(() => { _ = batcher.EnqueueAsync("small", 1, 1, "k", 0, null, CancellationToken.None); });

        Assert.Equal(500, batcher.QueuedBytes);
        _gate.Set();
        Assert.Equal("large@0/1", await large.WaitAsync(Patience));
        await busy;
        Assert.Equal(0, batcher.QueuedBytes);
    }

    [Fact]
    public async Task Enqueue_DroppedRequestsBytes_AreFreedForOthers()
    {
        var batcher = Create(maxQueueBytes: 100);
        var busy = await OccupyAsync(batcher);
        using var cancel = new CancellationTokenSource();
        var cancelled = batcher.EnqueueAsync("cancelled", 1, 70, "k", 0, null, cancel.Token);
        var timed = batcher.EnqueueAsync("timed", 1, 30, "k", 0, TimeSpan.FromMilliseconds(10), CancellationToken.None);
        Assert.Throws<BatchRejectedException>(() => { _ = batcher.EnqueueAsync("refused", 1, 1, "k", 0, null, CancellationToken.None); });

        await cancel.CancelAsync();
        await FakeClockSteps.AdvanceUntilAsync(_time, () => timed.IsCompleted && cancelled.IsCompleted, "the cancelled and the timed-out request to leave the queue", Patience);

        Assert.Equal(0, batcher.QueuedBytes);
        var fits = batcher.EnqueueAsync("fits", 1, 100, "k", 0, null, CancellationToken.None);
        _gate.Set();
        Assert.Equal("fits@0/1", await fits.WaitAsync(Patience));
        await busy;
        Assert.DoesNotContain("cancelled", _executed);
        Assert.DoesNotContain("timed", _executed);
    }

    [Fact]
    public async Task Enqueue_TimeoutPassesInQueue_FailsUncomputed()
    {
        var batcher = Create();
        var busy = await OccupyAsync(batcher);
        var timed = batcher.EnqueueAsync("timed", 1, 0, "k", 0, TimeSpan.FromMilliseconds(10), CancellationToken.None);
        var patient = batcher.EnqueueAsync("patient", 1, 0, "k", 0, null, CancellationToken.None);
        await WaitUntilAsync(() => batcher.QueuedRows == 2);

        // A millisecond at a time until the consumer loop has dropped it.
        var waited = await FakeClockSteps.AdvanceUntilAsync(_time, () => timed.IsCompleted, "the timed-out request to be dropped", Patience);

        Assert.True(waited >= TimeSpan.FromMilliseconds(10), $"dropped after {waited.TotalMilliseconds} ms, before its 10 ms timeout");
        var ex = await Assert.ThrowsAsync<BatchRejectedException>(() => timed.WaitAsync(Patience));
        Assert.Contains("timed out", ex.Message, StringComparison.Ordinal);
        _gate.Set();
        Assert.Equal("patient@0/1", await patient.WaitAsync(Patience));
        await busy;
        Assert.DoesNotContain("timed", _executed);
    }

    [Fact]
    public async Task Enqueue_CallerCancelsWhileQueued_DroppedUncomputed()
    {
        var batcher = Create();
        var busy = await OccupyAsync(batcher);
        using var cancel = new CancellationTokenSource();
        var cancelled = batcher.EnqueueAsync("cancelled", 1, 0, "k", 0, null, cancel.Token);
        var kept = batcher.EnqueueAsync("kept", 1, 0, "k", 0, null, CancellationToken.None);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Patience));
        await WaitUntilAsync(() => batcher.QueuedRows == 1);
        _gate.Set();
        Assert.Equal("kept@0/1", await kept.WaitAsync(Patience));
        await busy;
        Assert.DoesNotContain("cancelled", _executed);
    }

    [Fact]
    public async Task Execute_Throws_EveryEntryOfTheBatchGetsTheError()
    {
        var failures = 0;
        _batcher = new DynamicBatcher<string, string>(
            new BatchingOptions { MaxBatchRows = 4, Instances = 1 },
            (_, _) =>
            {
                Interlocked.Increment(ref failures);
                throw new InvalidOperationException("model failed");
            },
            _time);

        var results = Enumerable.Range(0, 3).Select(i => _batcher.EnqueueAsync($"r{i}", 1, 0, "k", 0, null, CancellationToken.None)).ToArray();

        foreach (var result in results)
        {
            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => result.WaitAsync(Patience));
            Assert.Equal("model failed", ex.Message);
        }

        Assert.Equal(0, _batcher.QueuedRows);
    }

    [Fact]
    public async Task Execute_CompletesSomeAndFailsOthers_EachCallerGetsItsOwnOutcome()
    {
        _batcher = new DynamicBatcher<string, string>(
            new BatchingOptions { MaxBatchRows = 4, Instances = 1 },
            (_, batch) =>
            {
                foreach (var entry in batch.Where(e => e.Request != "bad"))
                {
                    entry.Complete(entry.Request);
                }

                throw new ArgumentException("bad input");
            },
            _time);

        var good = _batcher.EnqueueAsync("good", 1, 0, "k", 0, null, CancellationToken.None);
        var bad = _batcher.EnqueueAsync("bad", 1, 0, "k", 0, null, CancellationToken.None);

        Assert.Equal("good", await good.WaitAsync(Patience));
        await Assert.ThrowsAsync<ArgumentException>(() => bad.WaitAsync(Patience));
    }

    [Fact]
    public async Task Randomized_ConcurrentRequests_EachCallerGetsExactlyItsOwnRows()
    {
        // The executor does what model execution does: concatenates the batch's rows, computes on the
        // whole, and splits the result back by row ranges. Shapes (group keys) must never mix.
        var random = new Random(20261128);
        var mixed = 0;
        var batches = 0;
        await using var batcher = new DynamicBatcher<(string Key, int[] Rows), int[]>(
            new BatchingOptions { MaxBatchRows = 8, MaxQueueRows = 16384, Instances = 2 },
            (_, batch) =>
            {
                Interlocked.Increment(ref batches);
                if (batch.Select(e => e.Request.Key).Distinct().Count() > 1)
                {
                    Interlocked.Increment(ref mixed);
                }

                var all = batch.SelectMany(e => e.Request.Rows).Select(v => (v * 3) + 1).ToArray();
                var offset = 0;
                foreach (var entry in batch)
                {
                    entry.Complete(all[offset..(offset + entry.Rows)]);
                    offset += entry.Rows;
                }
            },
            TimeProvider.System);

        var requests = Enumerable.Range(0, 2000).Select(i =>
        {
            var rows = random.Next(1, 5);
            var key = $"shape{random.Next(3)}";
            return (Key: key, Rows: Enumerable.Range(0, rows).Select(_ => random.Next(1000)).ToArray());
        }).ToArray();

        var results = await Task.WhenAll(requests.Select(r => Task.Run(() => batcher.EnqueueAsync(r, r.Rows.Length, 0, r.Key, 0, null, CancellationToken.None)))).WaitAsync(Patience);

        Assert.Equal(0, mixed);
        Assert.True(batches < requests.Length, "some requests should have shared a batch");
        for (var i = 0; i < requests.Length; i++)
        {
            Assert.Equal(requests[i].Rows.Select(v => (v * 3) + 1), results[i]);
        }
    }

    [Fact]
    public async Task Dispose_WithQueuedRequests_FailsThem()
    {
        var batcher = Create();
        var busy = await OccupyAsync(batcher);
        var queued = batcher.EnqueueAsync("queued", 1, 0, "k", 0, null, CancellationToken.None);
        await WaitUntilAsync(() => batcher.QueuedRows == 1);
        _batcher = null;

        var disposal = batcher.DisposeAsync().AsTask();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => queued.WaitAsync(Patience));
        _gate.Set();
        await disposal.WaitAsync(Patience);
        await busy;
        Assert.Throws<ObjectDisposedException>(() => { _ = batcher.EnqueueAsync("late", 1, 0, "k", 0, null, CancellationToken.None); });
    }

    // The consumer loop runs on the thread pool: wait for it to have seen the events, bounded.
    private static Task WaitUntilAsync(Func<bool> condition) => Poll.UntilAsync(condition, "the consumer loop to see the events", Patience);
}
