using System.Threading.Channels;

namespace ServingGateway.Batching;

/// <summary>
/// Merges concurrent requests for one model version into batches and runs them on the version's
/// instances: one bounded channel, one consumer loop that owns the <see cref="BatchScheduler{TRequest, TResult}"/>,
/// batches executed one at a time per instance: on the thread pool when their size is measured to run within
/// <see cref="ShortRun"/>, else on a thread of the instance's own (<see cref="InstanceThread"/>).
/// </summary>
/// <remarks>
/// Everything the scheduler needs to hear arrives through the channel: new requests, instances that
/// finished, and wake-ups (a timer the scheduler asked for, or a queued request's caller cancelling).
/// The channel is bounded by the queue limit in rows plus the instances: admission counts rows before
/// writing, so it never fills. A request leaves the queue only in a batch, or dropped uncomputed when its
/// caller cancelled or its timeout passed; once dispatched, its caller always gets the result (or the
/// batch's error), so pooled results are never orphaned.
/// </remarks>
/// <typeparam name="TRequest">The request.</typeparam>
/// <typeparam name="TResult">What each caller gets back.</typeparam>
internal sealed class DynamicBatcher<TRequest, TResult> : IAsyncDisposable
{
    /// <summary>A batch expected to finish within this runs on the thread pool; a longer one on its instance's thread.</summary>
    internal static readonly TimeSpan ShortRun = TimeSpan.FromMilliseconds(1);

    private readonly BatchingOptions _options;
    private readonly Action<int, BatchEntry<TRequest, TResult>[]> _execute;
    private readonly TimeProvider _time;
    private readonly Channel<Event> _events;
    private readonly BatchScheduler<TRequest, TResult> _scheduler;
    private readonly ITimer _timer;
    private readonly Stack<int> _freeInstances;
    private readonly InstanceThread[] _threads;
    private readonly InstanceRun[] _runs;
    private readonly double _shortRunTicks;
    private readonly Task _loop;
    private int _admittedRows;
    private long _admittedBytes;
    private int _wakePending;
    private int _timerFired;
    private long _timerDueAt = long.MaxValue;
    private double _drainRowsPerSecond;
    private double _oneRowTicks;
    private readonly int[] _admittedByPriority;
    private readonly long[] _rejected = new long[Enum.GetValues<RejectionReason>().Length];
    private long _answeredInTime;
    private long _answeredLate;
    private readonly AdmissionShare _admission = new();

    /// <param name="options">The batcher's settings; must be valid.</param>
    /// <param name="execute">
    /// Runs a batch on instance (0 to Instances - 1) and completes each entry (<see cref="BatchEntry{TRequest, TResult}.Complete"/>
    /// or <see cref="BatchEntry{TRequest, TResult}.Fail"/>); called on the instance's own thread, or on the thread pool
    /// for a batch measured to run within <see cref="ShortRun"/>; never twice at once for one instance. An exception
    /// fails every entry it left uncompleted.
    /// </param>
    /// <param name="time">The clock for queue times, waits and timeouts.</param>
    public DynamicBatcher(BatchingOptions options, Action<int, BatchEntry<TRequest, TResult>[]> execute, TimeProvider time)
    {
        var errors = options.Validate().ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        _options = options;
        _admittedByPriority = new int[options.PriorityLevels];
        _execute = execute;
        _time = time;
        _scheduler = new BatchScheduler<TRequest, TResult>(options, time.TimestampFrequency);
        _freeInstances = new Stack<int>(Enumerable.Range(0, options.Instances).Reverse());
        _threads = [.. Enumerable.Range(0, options.Instances).Select(i => new InstanceThread($"sg-batch-instance-{i}"))];
        _runs = [.. Enumerable.Range(0, options.Instances).Select(i => new InstanceRun(this, i))];
        _shortRunTicks = ShortRun.TotalSeconds * time.TimestampFrequency;
        _events = Channel.CreateBounded<Event>(new BoundedChannelOptions(options.MaxQueueRows + options.Instances + 1)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _timer = time.CreateTimer(static s => ((DynamicBatcher<TRequest, TResult>)s!).TimerFired(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The settings.</summary>
    public BatchingOptions Options => _options;

    /// <summary>Rows admitted and not yet dispatched or dropped: the queue depth the limit applies to.</summary>
    public int QueuedRows => Volatile.Read(ref _admittedRows);

    /// <summary>The best drain rate measured (full batches on every instance), rows a second; 0 before any batch ran.</summary>
    public double DrainRowsPerSecond => Volatile.Read(ref _drainRowsPerSecond);

    /// <summary>Input bytes admitted and not yet dispatched or dropped: what the byte limit applies to.</summary>
    public long QueuedBytes => Interlocked.Read(ref _admittedBytes);

    /// <summary>The refusals, drops, answers in time and late, and the estimated queue wait, as of now (for metrics).</summary>
    public QueueCounters Counters
    {
        get
        {
            var rejected = new long[_rejected.Length];
            for (var i = 0; i < rejected.Length; i++)
            {
                rejected[i] = Interlocked.Read(ref _rejected[i]);
            }

            var rows = QueuedRows;
            var rate = DrainRowsPerSecond;
            var wait = rate > 0 && rows > 0 ? TimeSpan.FromSeconds(rows / rate) : TimeSpan.Zero;
            return new QueueCounters(rows, wait, rejected, Interlocked.Read(ref _answeredInTime), Interlocked.Read(ref _answeredLate), _admission.Value);
        }
    }

    /// <summary>Queues a request that arrived now: <see cref="EnqueueAsync(TRequest, int, long, object, int, TimeSpan?, long, CancellationToken)"/>.</summary>
    public Task<TResult> EnqueueAsync(TRequest request, int rows, long bytes, object groupKey, int priority, TimeSpan? timeout, CancellationToken cancellationToken) =>
        EnqueueAsync(request, rows, bytes, groupKey, priority, timeout, _time.GetTimestamp(), cancellationToken);

    /// <summary>
    /// Queues <paramref name="request"/> and completes with its result once its batch has run.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="rows">The rows it adds to a batch (1 for models that do not batch).</param>
    /// <param name="bytes">The memory its inputs hold while it waits (at least 0), counted against <see cref="BatchingOptions.MaxQueueBytes"/>.</param>
    /// <param name="groupKey">Requests batch together only when their keys are equal.</param>
    /// <param name="priority">Priority level, 0 first; clamped to the configured levels.</param>
    /// <param name="timeout">How long it may wait in the queue; null for no limit.</param>
    /// <param name="arrivedAt">
    /// When the request reached the server (a timestamp of this batcher's clock; a later one, <see cref="long.MaxValue"/>
    /// included, means now): its deadline and its target run from then, so the time it took to read and decode counts
    /// against them.
    /// </param>
    /// <param name="cancellationToken">The caller's; cancelling drops the request if it has not been dispatched yet.</param>
    /// <exception cref="BatchRejectedException">
    /// The queue is full, or (deadline policy) the work queued ahead cannot finish before the request's deadline (thrown at once).
    /// </exception>
    public Task<TResult> EnqueueAsync(TRequest request, int rows, long bytes, object groupKey, int priority, TimeSpan? timeout, long arrivedAt, CancellationToken cancellationToken)
    {
        if (rows < 1 || rows > _options.MaxBatchRows)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), rows, $"a request holds 1 to {_options.MaxBatchRows} rows");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TResult>(cancellationToken);
        }

        var queued = Interlocked.Add(ref _admittedRows, rows);
        if (queued > _options.MaxQueueRows)
        {
            Interlocked.Add(ref _admittedRows, -rows);
            throw Rejected(
                $"the queue is full ({queued - rows} rows waiting, max_queue_rows {_options.MaxQueueRows})", EstimateDrainTime(queued - rows), RejectionReason.QueueRows);
        }

        // A request alone in the queue is admitted whatever its size: refused, it could never run.
        var queuedBytes = Interlocked.Add(ref _admittedBytes, bytes);
        if (queuedBytes > _options.MaxQueueBytes && queuedBytes != bytes)
        {
            Interlocked.Add(ref _admittedBytes, -bytes);
            Interlocked.Add(ref _admittedRows, -rows);
            throw Rejected(
                $"the queue is full ({queuedBytes - bytes} bytes of inputs waiting, max_queue_mb allows {_options.MaxQueueBytes})",
                EstimateDrainTime(queued - rows), RejectionReason.QueueBytes);
        }

        var now = _time.GetTimestamp();
        var since = Math.Min(arrivedAt, now);
        var level = Math.Clamp(priority, 0, _options.PriorityLevels - 1);
        var deadline = _options.DeadlineOf(since, timeout, _time.TimestampFrequency);
        if (_options.Overload == OverloadPolicy.Deadline && deadline != long.MaxValue && ExpectedWait(level) is { } expected
            && !_admission.Admits(now - since + expected, deadline - since))
        {
            Interlocked.Add(ref _admittedBytes, -bytes);
            Interlocked.Add(ref _admittedRows, -rows);
            _admission.Refused();
            throw Rejected(DeadlineRefusal(now - since, expected, deadline - since, timeout), EstimateDrainTime(queued - rows), RejectionReason.Deadline);
        }

        Interlocked.Add(ref _admittedByPriority[level], rows);
        var entry = new BatchEntry<TRequest, TResult>(request, rows, groupKey, priority, now, deadline, cancellationToken)
        {
            Bytes = bytes,
            Target = _options.TargetOf(since, timeout, _time.TimestampFrequency),
            Trace = BatchingTelemetry.CallerContext(),
        };
        if (cancellationToken.CanBeCanceled)
        {
            // Wake the loop so a cancelled request leaves the queue now, not at the next event; the loop
            // disposes the registration when the request leaves the queue.
            entry.Registration = cancellationToken.UnsafeRegister(static s => ((DynamicBatcher<TRequest, TResult>)s!).Wake(), this);
        }

        if (!_events.Writer.TryWrite(Event.Arrived(entry)))
        {
            entry.Registration.Dispose();
            Interlocked.Add(ref _admittedByPriority[level], -rows);
            Interlocked.Add(ref _admittedRows, -rows);
            Interlocked.Add(ref _admittedBytes, -bytes);
            throw new ObjectDisposedException(nameof(DynamicBatcher<TRequest, TResult>), "the batcher is stopped");
        }

        return entry.Completion;
    }

    // Why a request was refused by deadline: the time it has spent here (since it arrived) and the work queued ahead,
    // against its deadline, or against the share of it that admission allows now (AdmissionShare: answers were
    // finishing past their target).
    private string DeadlineRefusal(long spent, double expected, long budget, TimeSpan? timeout)
    {
        var ms = 1000.0 / _time.TimestampFrequency;
        var share = _admission.Value;
        var work = spent * ms >= 1
            ? $"{spent * ms:0.#} ms since it arrived and about {expected * ms:0.#} ms for the work queued ahead make {(spent + expected) * ms:0.#} ms"
            : $"the work queued ahead would take about {(spent + expected) * ms:0.#} ms";
        var source = timeout is null ? $"(latency_slo_ms {_options.LatencySlo.TotalMilliseconds:0.###} x slo_factor {_options.SloFactor:0.##})" : "(its timeout parameter)";
        return share >= 1
            ? $"overloaded: {work}, past this request's deadline of {budget * ms:0.#} ms {source}"
            : $"overloaded: {work}, past the {budget * share * ms:0.#} ms admitted now: "
                + $"{share:0.##} of this request's deadline of {budget * ms:0.#} ms {source}, since more than 1% of recent answers finished past their SLO";
    }

    /// <summary>
    /// Deadline policy: the ticks a request at <paramref name="level"/> should wait and run, from the rows admitted at
    /// its level or a more urgent one, at the best drain rate measured (full batches on every instance), plus the
    /// time of the smallest batch; null before any batch ran, and null when nothing waits ahead of it. Optimistic on
    /// purpose: a request is refused only when even this estimate misses its deadline.
    /// </summary>
    /// <remarks>
    /// With nothing ahead, refusing cannot make room for anyone, and it would stop the measurements: a one-row time
    /// once measured past the deadline (a stall of a busy machine) would then refuse every request for good, since
    /// no batch would run to correct it (seen in benchmarks/overload/run.sh: 100% refused at 1.5 req/s).
    /// </remarks>
    private double? ExpectedWait(int level)
    {
        var rate = Volatile.Read(ref _drainRowsPerSecond);
        var oneRow = Volatile.Read(ref _oneRowTicks);
        if (rate <= 0 || oneRow <= 0)
        {
            return null;
        }

        var ahead = 0;
        for (var q = 0; q <= level; q++)
        {
            ahead += Volatile.Read(ref _admittedByPriority[q]);
        }

        return ahead == 0 ? null : (ahead / rate * _time.TimestampFrequency) + oneRow;
    }

    // Every refusal and drop goes through here, so the counters by reason miss none.
    private BatchRejectedException Rejected(string message, TimeSpan retryAfter, RejectionReason reason)
    {
        Interlocked.Increment(ref _rejected[(int)reason]);
        return new BatchRejectedException(message, retryAfter, reason);
    }

    /// <summary>How long the rows queued now should take to drain, at the throughput measured so far (at least 1 s).</summary>
    public TimeSpan EstimateDrainTime(int queuedRows)
    {
        var rate = Volatile.Read(ref _drainRowsPerSecond);
        var seconds = rate > 0 ? queuedRows / rate : 1;
        return TimeSpan.FromSeconds(Math.Clamp(seconds, 1, 3600));
    }

    /// <summary>Stops taking requests; requests still queued fail. Dispose only when no request is in flight.</summary>
    public async ValueTask DisposeAsync()
    {
        _events.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        await _timer.DisposeAsync().ConfigureAwait(false);
        foreach (var thread in _threads)
        {
            thread.Dispose();
        }
    }

    private void TimerFired()
    {
        Volatile.Write(ref _timerFired, 1);
        Wake();
    }

    private void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            _events.Writer.TryWrite(Event.WakeUp);
        }
    }

    private async Task RunAsync()
    {
        var dispatch = new List<BatchEntry<TRequest, TResult>[]>();
        var dropped = new List<BatchEntry<TRequest, TResult>>();
        var running = 0;
        var reader = _events.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var item))
            {
                switch (item.Kind)
                {
                    case EventKind.Arrived:
                        _scheduler.Add(item.Entry!, item.Entry!.EnqueuedAt);
                        break;
                    case EventKind.Finished:
                        _scheduler.Release(item.Rows, item.ElapsedTicks);
                        _freeInstances.Push(item.Instance);
                        running--;
                        UpdateDrainRate();
                        break;
                    default:
                        Volatile.Write(ref _wakePending, 0);
                        if (Interlocked.Exchange(ref _timerFired, 0) == 1)
                        {
                            _timerDueAt = long.MaxValue; // fired: a new wake-up must be armed even for the same time
                        }

                        break;
                }
            }

            var now = _time.GetTimestamp();
            var next = _scheduler.Schedule(now, dispatch, dropped);
            foreach (var entry in dropped)
            {
                Interlocked.Add(ref _admittedRows, -entry.Rows);
                Interlocked.Add(ref _admittedBytes, -entry.Bytes);
                Interlocked.Add(ref _admittedByPriority[Math.Clamp(entry.Priority, 0, _options.PriorityLevels - 1)], -entry.Rows);
                entry.Registration.Dispose();
                if (entry.CancellationToken.IsCancellationRequested)
                {
                    entry.TrySetCanceled();
                }
                else
                {
                    var waited = TimeSpan.FromSeconds((double)(now - entry.EnqueuedAt) / _time.TimestampFrequency).TotalMilliseconds;
                    entry.Fail(entry.Deadline <= now
                        ? Rejected(
                            $"the request timed out after {waited:0.###} ms in the queue (its timeout parameter, or latency_slo_ms x slo_factor)",
                            EstimateDrainTime(QueuedRows), RejectionReason.Expired)
                        : Rejected(
                            $"overloaded: shed after {waited:0.###} ms in a standing queue (codel_target_ms {_options.CoDelTarget.TotalMilliseconds:0.###})",
                            EstimateDrainTime(QueuedRows), RejectionReason.CoDel));
                }
            }

            foreach (var batch in dispatch)
            {
                Interlocked.Add(ref _admittedRows, -RowsOf(batch));
                foreach (var entry in batch)
                {
                    Interlocked.Add(ref _admittedBytes, -entry.Bytes);
                    Interlocked.Add(ref _admittedByPriority[Math.Clamp(entry.Priority, 0, _options.PriorityLevels - 1)], -entry.Rows);
                    entry.Registration.Dispose();
                }

                running++;
                Run(_freeInstances.Pop(), batch);
            }

            dispatch.Clear();
            dropped.Clear();
            ArmTimer(next);
        }

        // Stopped: whatever is still queued will not run.
        _scheduler.Schedule(long.MaxValue, dispatch, dropped);
        foreach (var entry in dropped.Concat(dispatch.SelectMany(b => b)))
        {
            entry.Registration.Dispose();
            entry.Fail(new ObjectDisposedException(nameof(DynamicBatcher<TRequest, TResult>), "the model version was unloaded"));
        }
    }

    // Where a batch runs. One expected to finish within ShortRun (measured for its size) runs on the thread pool, like
    // any short work item: handing it to a sleeping instance thread costs a wake-up a batch, which took 15% of mlp's
    // requests a second at 8 connections (docs/BENCHMARKS.md). One expected to run longer, or of a size never
    // measured, runs on the instance's own thread, so that a model run never holds a pool thread for long. Either
    // way the batcher runs at most one batch per instance at a time.
    private void Run(int instance, BatchEntry<TRequest, TResult>[] batch)
    {
        var run = _runs[instance];
        run.Batch = batch;
        var expected = _scheduler.ExecutionTimes.Estimate(RowsOf(batch));
        if (expected > 0 && expected < _shortRunTicks)
        {
            ThreadPool.UnsafeQueueUserWorkItem(run, preferLocal: false);
            return;
        }

        _threads[instance].Post(static s => ((InstanceRun)s!).Execute(), run);
    }

    private void Execute(int instance, BatchEntry<TRequest, TResult>[] batch)
    {
        var started = _time.GetTimestamp();
        Exception? failure = null;
        var span = BatchingTelemetry.StartBatch(batch, instance, started, _time);
        try
        {
            _execute(instance, batch);
        }
        catch (Exception ex)
        {
            failure = ex;
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Message);
        }
        finally
        {
            span?.Dispose();
        }

        var finished = _time.GetTimestamp();
        int inTime = 0, late = 0;
        foreach (var entry in batch)
        {
            if (!entry.Completion.IsCompleted)
            {
                entry.Fail(failure ?? new InvalidOperationException("the batch ran but left this request without a result"));
            }
            else if (entry.Target != long.MaxValue && entry.Completion.IsCompletedSuccessfully)
            {
                if (finished <= entry.Target)
                {
                    inTime++;
                }
                else
                {
                    late++;
                }
            }
        }

        Interlocked.Add(ref _answeredInTime, inTime);
        Interlocked.Add(ref _answeredLate, late);
        _admission.Answered(inTime, late);

        _events.Writer.TryWrite(Event.Done(instance, RowsOf(batch), finished - started));
    }

    private static int RowsOf(BatchEntry<TRequest, TResult>[] batch)
    {
        var rows = 0;
        foreach (var entry in batch)
        {
            rows += entry.Rows;
        }

        return rows;
    }

    private void ArmTimer(long next)
    {
        if (next == long.MaxValue)
        {
            if (_timerDueAt != long.MaxValue)
            {
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _timerDueAt = long.MaxValue;
            }

            return;
        }

        if (next == _timerDueAt)
        {
            return;
        }

        _timerDueAt = next;

        // Timers count whole milliseconds: round up, so the loop wakes at or after the time, never spins before it.
        var due = TimeSpan.FromMilliseconds(Math.Ceiling(Math.Max(0, next - _time.GetTimestamp()) * 1000.0 / _time.TimestampFrequency));
        _timer.Change(due, Timeout.InfiniteTimeSpan);
    }

    private void UpdateDrainRate()
    {
        var rows = _options.MaxBatchRows;
        var ticks = _scheduler.ExecutionTimes.Estimate(rows);
        if (ticks > 0)
        {
            Volatile.Write(ref _drainRowsPerSecond, _options.Instances * rows * _time.TimestampFrequency / ticks);
            Volatile.Write(ref _oneRowTicks, _scheduler.ExecutionTimes.Estimate(1));
        }
    }

    // An instance's batch to run, one object per instance reused for each of its batches (an instance runs one batch at
    // a time), so that handing a batch to the thread pool or the instance's thread allocates nothing.
    private sealed class InstanceRun(DynamicBatcher<TRequest, TResult> batcher, int instance) : IThreadPoolWorkItem
    {
        public BatchEntry<TRequest, TResult>[]? Batch { get; set; }

        public void Execute()
        {
            var batch = Batch!;
            Batch = null;
            batcher.Execute(instance, batch);
        }
    }

    private enum EventKind
    {
        WakeUp,
        Arrived,
        Finished,
    }

    private readonly record struct Event(EventKind Kind, BatchEntry<TRequest, TResult>? Entry, int Instance, int Rows, long ElapsedTicks)
    {
        public static Event WakeUp => new(EventKind.WakeUp, null, 0, 0, 0);

        public static Event Arrived(BatchEntry<TRequest, TResult> entry) => new(EventKind.Arrived, entry, 0, 0, 0);

        public static Event Done(int instance, int rows, long elapsedTicks) => new(EventKind.Finished, null, instance, rows, elapsedTicks);
    }
}
