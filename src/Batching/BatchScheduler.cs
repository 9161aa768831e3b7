namespace ServingGateway.Batching;

/// <summary>
/// The batching rules, as a synchronous state machine: it holds the queued requests by group (shape
/// signature) and priority, knows how many instances are idle, and decides at each event which batches
/// to dispatch now and when to look again. <see cref="DynamicBatcher{TRequest, TResult}"/> feeds it events
/// from one consumer loop; tests drive it directly with timestamps.
/// </summary>
/// <remarks>
/// The adaptive rule (docs/BATCHING.md), for the group whose head request has waited longest:
/// dispatch when the batch is full; otherwise, with an instance idle, wait only while (1) rows are
/// expected to arrive before the wait must end, (2) the instance's time per row, the expected wait for the
/// rows included, is lower for a bigger batch than for running now, and (3) the oldest request's SLO
/// budget (SLO minus the expected execution time of the batch it would join) and the max queue delay have
/// not run out; a wait never lasts longer than the batch takes to run, nor less than
/// <see cref="MinimumWait"/>. A batch takes at most its instance's fair share of the work, and no more
/// rows than the size past which batches were measured to cost more per row. Not thread-safe.
/// </remarks>
internal sealed class BatchScheduler<TRequest, TResult>
{
    /// <summary>
    /// Batch sizes whose measured time per row is within this fraction of the best are as good as the best:
    /// a batch is capped only below a size measurably costlier per row.
    /// </summary>
    public const double EfficiencyTolerance = 0.05;

    /// <summary>
    /// One batch in this many may pass the efficiency cap, so that the costs of bigger sizes stay measured
    /// (a size once measured slow, for example while the process warmed up, is tried again).
    /// </summary>
    public const int ExploreEvery = 32;

    /// <summary>
    /// The shortest wait the scheduler takes: timers keep whole milliseconds, so a shorter wait would in fact
    /// last a millisecond. A model faster than that batches only the rows already queued.
    /// </summary>
    public static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(1);

    /// <summary>How fast the recent peak of rows in the system, which sets the fair share, fades.</summary>
    public static readonly TimeSpan LoadTimeConstant = TimeSpan.FromMilliseconds(250);

    private readonly BatchingOptions _options;
    private readonly long _maxDelayTicks;
    private readonly long _sloTicks;
    private readonly long _minimumWaitTicks;
    private readonly Dictionary<object, Group> _groups = [];
    private readonly List<Group> _order = [];
    private readonly List<BatchEntry<TRequest, TResult>> _taken = []; // Take's list, kept: a batch allocates only its array
    private readonly double _loadTimeConstantTicks;
    private int _cappedBatches;
    private int _efficientLimit;
    private double _peakLoad;
    private long _loadAt;
    private readonly long _codelTargetTicks;
    private readonly long _codelIntervalTicks;
    private long _lastEmptyAt;

    public BatchScheduler(BatchingOptions options, long frequency)
    {
        _options = options;
        _maxDelayTicks = (long)(options.MaxQueueDelay.TotalSeconds * frequency);
        _sloTicks = (long)(options.LatencySlo.TotalSeconds * frequency);
        _minimumWaitTicks = (long)(MinimumWait.TotalSeconds * frequency);
        IdleInstances = options.Instances;
        Arrivals = new ArrivalRateEstimator(TimeSpan.FromMilliseconds(500), frequency);
        ExecutionTimes = new ExecutionTimeEstimator(options.MaxBatchRows);
        _efficientLimit = options.MaxBatchRows;
        _loadTimeConstantTicks = LoadTimeConstant.TotalSeconds * frequency;
        _codelTargetTicks = (long)(options.CoDelTarget.TotalSeconds * frequency);
        _codelIntervalTicks = (long)(options.CoDelInterval.TotalSeconds * frequency);
    }

    /// <summary>CoDel policy: true while the queue stands (it has not been empty for an interval) and requests that waited past the target are shed.</summary>
    public bool Shedding { get; private set; }

    /// <summary>Instances not running a batch.</summary>
    public int IdleInstances { get; private set; }

    /// <summary>Rows queued (not yet dispatched or dropped).</summary>
    public int QueuedRows { get; private set; }

    /// <summary>Requests queued.</summary>
    public int QueuedRequests { get; private set; }

    /// <summary>Rows in batches that are running.</summary>
    public int ExecutingRows { get; private set; }

    /// <summary>What the scheduler has learned of arrivals.</summary>
    public ArrivalRateEstimator Arrivals { get; }

    /// <summary>What the scheduler has learned of execution times.</summary>
    public ExecutionTimeEstimator ExecutionTimes { get; }

    /// <summary>Queues a request that arrived at <paramref name="now"/>.</summary>
    public void Add(BatchEntry<TRequest, TResult> entry, long now)
    {
        if (QueuedRequests == 0)
        {
            _lastEmptyAt = now; // empty until this one came
        }

        Arrivals.Advance(now, QueuedRows > 0);
        if (QueuedRows > 0)
        {
            Arrivals.ArrivedWhileQueued(entry.Rows);
        }

        if (!_groups.TryGetValue(entry.GroupKey, out var group))
        {
            group = new Group(entry.GroupKey, _options.PriorityLevels);
            _groups.Add(entry.GroupKey, group);
            _order.Add(group);
        }

        group.Queues[Math.Clamp(entry.Priority, 0, _options.PriorityLevels - 1)].Add(entry);
        group.Rows += entry.Rows;
        QueuedRows += entry.Rows;
        QueuedRequests++;
    }

    /// <summary>An instance finished a batch of <paramref name="rows"/> that ran for <paramref name="elapsedTicks"/>.</summary>
    public void Release(int rows, long elapsedTicks)
    {
        ExecutionTimes.Record(rows, elapsedTicks);
        _efficientLimit = ExecutionTimes.EfficientLimit(EfficiencyTolerance);
        ExecutingRows = Math.Max(0, ExecutingRows - rows);
        IdleInstances = Math.Min(IdleInstances + 1, _options.Instances);
    }

    /// <summary>
    /// Drops cancelled and expired requests into <paramref name="dropped"/>, fills <paramref name="dispatch"/>
    /// with the batches to run now (one idle instance each), and returns when to look again
    /// (<see cref="long.MaxValue"/>: only on the next event).
    /// </summary>
    public long Schedule(long now, List<BatchEntry<TRequest, TResult>[]> dispatch, List<BatchEntry<TRequest, TResult>> dropped)
    {
        Arrivals.Advance(now, QueuedRows > 0);
        var next = Purge(now, dropped);
        TrackLoad(now);
        var considered = 0;
        while (IdleInstances > 0 && considered < _order.Count)
        {
            var group = Best();
            if (group is null)
            {
                break;
            }

            var limit = Limit();
            var wakeAt = Decide(group, limit, now);
            if (wakeAt <= now)
            {
                dispatch.Add(Take(group, limit, now));
                IdleInstances--;
                if (group.Rows == 0)
                {
                    _groups.Remove(group.Key);
                    _order.Remove(group);
                }
            }
            else
            {
                next = Math.Min(next, wakeAt);
                group.Waiting = true;
                considered++;
            }
        }

        foreach (var group in _order)
        {
            group.Waiting = false;
        }

        if (QueuedRequests == 0)
        {
            _lastEmptyAt = now; // what CoDel calls a good queue: it emptied
        }

        return next;
    }

    // The recent peak of the rows in the system (queued and running), decaying with LoadTimeConstant: with
    // many clients, the rows of one batch just answered are on their way back while the batcher sees only
    // the rows of the others.
    private void TrackLoad(long now)
    {
        var load = QueuedRows + ExecutingRows;
        var decayed = _loadAt == 0 ? 0 : _peakLoad * Math.Exp(-(now - _loadAt) / _loadTimeConstantTicks);
        _peakLoad = Math.Max(load, decayed);
        _loadAt = now;
    }

    // The most rows the next batch takes. Adaptive mode keeps instances balanced: a batch takes at most its
    // fair share of the recent peak of rows queued and running (docs/BATCHING.md), so one instance does not
    // take every waiting row while another, about to finish, then runs tiny batches, and two instances
    // freed together do not split the first few rows back. Nor does a batch take more rows than the size
    // past which batches cost more per row (minilm on a CPU: 8), but once in ExploreEvery batches.
    private int Limit()
    {
        if (_options.Mode != BatchingMode.Adaptive)
        {
            return _options.MaxBatchRows;
        }

        var limit = _options.MaxBatchRows;
        if (_options.Instances > 1)
        {
            var share = (int)Math.Ceiling(Math.Max(_peakLoad, QueuedRows + ExecutingRows) / _options.Instances);
            limit = Math.Clamp(share, 1, _options.MaxBatchRows);
        }

        return _efficientLimit < limit && _cappedBatches < ExploreEvery - 1 ? _efficientLimit : limit;
    }

    // When the group should be dispatched: now or a later timestamp.
    private long Decide(Group group, int limit, long now)
    {
        if (_options.Mode == BatchingMode.Off)
        {
            return now;
        }

        var rows = group.FittingRows(limit);
        if (rows >= limit || rows < group.Rows)
        {
            return now; // as full as it can get: what does not fit waits for the next batch
        }

        var head = group.OldestEnqueuedAt();
        if (_options.Mode == BatchingMode.Fixed)
        {
            return Array.IndexOf(_options.PreferredBatchSizes, rows) >= 0 ? now : head + _maxDelayTicks;
        }

        var rate = Arrivals.RowsPerTick;
        if (rate <= 0 || !ExecutionTimes.HasData)
        {
            return now; // no evidence that waiting adds rows, or that bigger batches are cheaper
        }

        // The wait ends by the max queue delay, and early enough that the batch expected by then would
        // finish within the oldest request's SLO: budget = SLO - expected execution time of that batch.
        var end = Math.Min(head + _maxDelayTicks, head + _sloTicks);
        var target = Target(rows, limit, rate, end - now);
        var execution = (long)Math.Ceiling(ExecutionTimes.Estimate(target));

        // Never wait past the SLO budget, nor longer than running the batch takes: an instance idle for
        // longer than that loses more throughput than the bigger batch wins back.
        end = Math.Min(end, Math.Min(head + _sloTicks - execution, head + execution));
        target = Target(rows, limit, rate, end - now);
        if (end - now < _minimumWaitTicks || target <= rows)
        {
            return now; // no budget left, a wait shorter than a timer can keep, or no row expected before it ends
        }

        if (!WaitingPays(rows, target, rate))
        {
            return now; // no bigger batch is cheaper per row once the instance's idle wait is counted
        }

        // Look again about when the next rows should have come, or when the wait must end.
        return Math.Min(end, now + Math.Max(_minimumWaitTicks, (long)Math.Ceiling(2 / rate)));
    }

    // Whether some batch of rows+1..target rows, gathered at 'rate', costs the instance less time per row
    // (its idle wait for the rows plus the batch's execution time) than running the 'rows' queued now. On a
    // CPU where time grows about linearly with rows it never does; near the most efficient size the wait
    // for the last rows decides. Between measured sizes the estimate is linear, so that cost per row is
    // monotonic there: only measured sizes and the ends of the range need checking.
    private bool WaitingPays(int rows, int target, double rate)
    {
        var perRowNow = ExecutionTimes.Estimate(rows) / rows;
        for (var size = rows + 1; size <= target; size++)
        {
            if ((size == rows + 1 || size == target || ExecutionTimes.IsMeasured(size))
                && (ExecutionTimes.Estimate(size) + ((size - rows) / rate)) / size < perRowNow)
            {
                return true;
            }
        }

        return false;
    }

    // The batch size expected if the group waits 'ticks' more at 'rate' rows per tick: never more than
    // the batch may take (a bigger one would not be this batch, and its longer run would eat the budget).
    private static int Target(int rows, int limit, double rate, long ticks) =>
        ticks <= 0 ? rows : (int)Math.Min(limit, rows + Math.Floor(rate * ticks));

    private BatchEntry<TRequest, TResult>[] Take(Group group, int limit, long now)
    {
        var taken = _taken;
        var rows = 0;
        foreach (var queue in group.Queues)
        {
            var count = 0;
            while (count < queue.Count && (taken.Count == 0 || rows + queue[count].Rows <= limit)
                && (_options.Mode != BatchingMode.Off || taken.Count == 0))
            {
                rows += queue[count].Rows;
                queue[count].DispatchedAt = now;
                taken.Add(queue[count]);
                count++;
            }

            queue.RemoveRange(0, count);
            if (count < queue.Count || (_options.Mode == BatchingMode.Off && taken.Count > 0))
            {
                break; // strict order: a request that does not fit is not overtaken by lower priorities
            }
        }

        if (_options.Mode == BatchingMode.Adaptive)
        {
            _cappedBatches = rows > _efficientLimit || _efficientLimit >= _options.MaxBatchRows ? 0 : _cappedBatches + 1;
        }

        group.Rows -= rows;
        QueuedRows -= rows;
        QueuedRequests -= taken.Count;
        ExecutingRows += rows;
        var batch = taken.ToArray();
        taken.Clear();
        return batch;
    }

    // The group with the most urgent head request, skipping groups already told to wait this pass.
    private Group? Best()
    {
        Group? best = null;
        (int Priority, long EnqueuedAt) bestHead = (int.MaxValue, long.MaxValue);
        foreach (var group in _order)
        {
            if (group.Waiting || group.Rows == 0)
            {
                continue;
            }

            var head = group.Head();
            if (head.CompareTo(bestHead) < 0)
            {
                best = group;
                bestHead = head;
            }
        }

        return best;
    }

    // Removes cancelled and expired requests; returns the earliest deadline left.
    private long Purge(long now, List<BatchEntry<TRequest, TResult>> dropped)
    {
        var earliest = long.MaxValue;
        var shedBefore = long.MinValue;
        if (_options.Overload == OverloadPolicy.CoDel)
        {
            earliest = ControlDelay(now);
            shedBefore = Shedding ? now - _codelTargetTicks : long.MinValue;
        }

        for (var g = _order.Count - 1; g >= 0; g--)
        {
            var group = _order[g];
            foreach (var queue in group.Queues)
            {
                for (var i = queue.Count - 1; i >= 0; i--)
                {
                    var entry = queue[i];
                    if (entry.CancellationToken.IsCancellationRequested || entry.Deadline <= now || entry.EnqueuedAt < shedBefore)
                    {
                        queue.RemoveAt(i);
                        group.Rows -= entry.Rows;
                        QueuedRows -= entry.Rows;
                        QueuedRequests--;
                        dropped.Add(entry);
                    }
                    else
                    {
                        earliest = Math.Min(earliest, entry.Deadline);
                        if (Shedding)
                        {
                            earliest = Math.Min(earliest, entry.EnqueuedAt + _codelTargetTicks + 1); // when it would be shed
                        }
                    }
                }
            }

            if (group.Rows == 0)
            {
                _groups.Remove(group.Key);
                _order.RemoveAt(g);
            }
        }

        return earliest;
    }

    // CoDel as "Fail at Scale" (Maurer, ACM Queue 2015) applies it to server queues, after Nichols and Jacobson
    // (2012): a burst that empties the queue within an interval is a good queue; a queue that has not been empty
    // for a whole interval stands, and while it stands a request that waited past the target is shed, so the rest
    // are served within it. Returns when to look again.
    private long ControlDelay(long now)
    {
        if (QueuedRequests == 0)
        {
            _lastEmptyAt = now;
            Shedding = false;
            return long.MaxValue;
        }

        Shedding = now - _lastEmptyAt >= _codelIntervalTicks;
        if (!Shedding)
        {
            return _lastEmptyAt + _codelIntervalTicks;
        }

        return long.MaxValue; // Purge adds when each remaining request would pass the target
    }

    private sealed class Group(object key, int priorityLevels)
    {
        public object Key { get; } = key;

        public List<BatchEntry<TRequest, TResult>>[] Queues { get; } = [.. Enumerable.Range(0, priorityLevels).Select(_ => new List<BatchEntry<TRequest, TResult>>())];

        public int Rows { get; set; }

        public bool Waiting { get; set; }

        public (int Priority, long EnqueuedAt) Head()
        {
            for (var p = 0; p < Queues.Length; p++)
            {
                if (Queues[p].Count > 0)
                {
                    return (p, Queues[p][0].EnqueuedAt);
                }
            }

            return (int.MaxValue, long.MaxValue);
        }

        public long OldestEnqueuedAt()
        {
            var oldest = long.MaxValue;
            foreach (var queue in Queues)
            {
                if (queue.Count > 0)
                {
                    oldest = Math.Min(oldest, queue[0].EnqueuedAt);
                }
            }

            return oldest;
        }

        // The rows the next batch would take, in the order Take takes them.
        public int FittingRows(int maxRows)
        {
            var rows = 0;
            foreach (var queue in Queues)
            {
                foreach (var entry in queue)
                {
                    if (rows > 0 && rows + entry.Rows > maxRows)
                    {
                        return rows;
                    }

                    rows += entry.Rows;
                }
            }

            return rows;
        }
    }
}
