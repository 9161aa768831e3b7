using Microsoft.Extensions.Time.Testing;

namespace ServingGateway.Batching.Tests;

public class BatchSchedulerTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly List<BatchEntry<string, int>[]> _dispatch = [];
    private readonly List<BatchEntry<string, int>> _dropped = [];

    private long Ms(double milliseconds) => (long)(milliseconds * _time.TimestampFrequency / 1000);

    private BatchScheduler<string, int> Create(int maxBatch = 8, int instances = 1, BatchingMode mode = BatchingMode.Adaptive,
        double sloMs = 50, double maxDelayMs = 5, int[]? preferred = null, int priorities = 1) =>
        new(new BatchingOptions
        {
            MaxBatchRows = maxBatch,
            MaxQueueRows = 1024,
            Instances = instances,
            Mode = mode,
            LatencySlo = TimeSpan.FromMilliseconds(sloMs),
            MaxQueueDelay = TimeSpan.FromMilliseconds(maxDelayMs),
            PreferredBatchSizes = preferred ?? [],
            PriorityLevels = priorities,
        }, _time.TimestampFrequency);

    private BatchEntry<string, int> Entry(string name, int rows = 1, string key = "k", int priority = 0, long deadline = long.MaxValue, CancellationToken token = default) =>
        new(name, rows, key, priority, _time.GetTimestamp(), deadline, token);

    private long Schedule(BatchScheduler<string, int> scheduler)
    {
        _dispatch.Clear();
        _dropped.Clear();
        return scheduler.Schedule(_time.GetTimestamp(), _dispatch, _dropped);
    }

    private string[][] Dispatched => [.. _dispatch.Select(b => b.Select(e => e.Request).ToArray())];

    // Teaches the scheduler that rows keep arriving while others wait (one every 0.1 ms) and that a
    // batch of 8 costs 2 ms where a batch of 1 costs 1 ms: the situation where waiting pays.
    private void TeachWaitingPays(BatchScheduler<string, int> scheduler)
    {
        scheduler.Release(1, Ms(1));
        scheduler.Release(8, Ms(2));
        for (var i = 0; i < 20; i++)
        {
            scheduler.Add(Entry("warm"), _time.GetTimestamp());
            _time.Advance(TimeSpan.FromMilliseconds(0.1));
        }

        // Dispatch the warm-up rows in full batches and free the instance again.
        while (scheduler.QueuedRows >= 8)
        {
            Schedule(scheduler);
            scheduler.Release(8, Ms(2));
        }

        while (scheduler.QueuedRows > 0)
        {
            _time.Advance(TimeSpan.FromMilliseconds(10));
            Schedule(scheduler);
            foreach (var batch in _dispatch)
            {
                scheduler.Release(batch.Sum(e => e.Rows), Ms(2));
            }
        }

        Assert.True(scheduler.Arrivals.RowsPerTick > 0);
    }

    [Fact]
    public void Schedule_FullBatch_DispatchesAtOnce()
    {
        var scheduler = Create(maxBatch: 4);
        TeachWaitingPays(scheduler);
        foreach (var name in new[] { "a", "b", "c", "d", "e" })
        {
            scheduler.Add(Entry(name), _time.GetTimestamp());
        }

        Schedule(scheduler);

        Assert.Equal([["a", "b", "c", "d"]], Dispatched);
        Assert.Equal(1, scheduler.QueuedRows);
    }

    [Fact]
    public void Schedule_LoneRequestWithIdleInstance_DispatchesAtOnce()
    {
        var scheduler = Create();
        scheduler.Add(Entry("a"), _time.GetTimestamp());

        var next = Schedule(scheduler);

        Assert.Equal([["a"]], Dispatched);
        Assert.Equal(long.MaxValue, next);
    }

    [Fact]
    public void Schedule_OneClientAtATime_NeverWaits()
    {
        // A closed-loop client: its next request comes only after the answer, so nothing ever arrives
        // while one waits, however fast it goes and however cheap bigger batches are.
        var scheduler = Create();
        scheduler.Release(8, Ms(1));
        for (var i = 0; i < 100; i++)
        {
            scheduler.Add(Entry($"r{i}"), _time.GetTimestamp());
            Schedule(scheduler);
            Assert.Equal([[$"r{i}"]], Dispatched);
            _time.Advance(TimeSpan.FromMilliseconds(0.05));
            scheduler.Release(1, Ms(0.05));
            _time.Advance(TimeSpan.FromMilliseconds(0.05));
        }
    }

    [Fact]
    public void Schedule_RowsExpectedAndBiggerBatchesCheaper_WaitsForMore()
    {
        var scheduler = Create(maxBatch: 8, sloMs: 50, maxDelayMs: 5);
        TeachWaitingPays(scheduler);
        scheduler.Add(Entry("a"), _time.GetTimestamp());

        var next = Schedule(scheduler);

        Assert.Empty(_dispatch);
        Assert.True(next > _time.GetTimestamp() && next <= _time.GetTimestamp() + Ms(5), $"wakes {next - _time.GetTimestamp()} ticks ahead");
    }

    [Fact]
    public void Schedule_Waiting_NeverPassesMaxQueueDelay()
    {
        var scheduler = Create(maxBatch: 64, sloMs: 50, maxDelayMs: 2);
        TeachWaitingPays(scheduler);
        var head = _time.GetTimestamp();
        scheduler.Add(Entry("a"), head);

        WaitUntilDispatched(scheduler, wakeBy: head + Ms(2), "a wake-up past the max queue delay");

        Assert.True(_time.GetTimestamp() <= head + Ms(2));
        Assert.Equal([["a"]], Dispatched);
    }

    [Fact]
    public void Schedule_Waiting_NeverPassesSloBudget()
    {
        // SLO 6 ms, and every batch of 8 to 32 rows measured at 4 ms (1 row at 1 ms, so bigger batches
        // are cheaper per row): whatever batch it expects, the wait must end by 6 - 4 = 2 ms, well before
        // the 50 ms max queue delay.
        var scheduler = Create(maxBatch: 32, sloMs: 6, maxDelayMs: 50);
        TeachWaitingPays(scheduler);
        for (var i = 0; i < 50; i++)
        {
            scheduler.Release(8, Ms(4));
            scheduler.Release(32, Ms(4));
        }
        var head = _time.GetTimestamp();
        scheduler.Add(Entry("a"), head);

        var waits = WaitUntilDispatched(scheduler, wakeBy: head + Ms(2), "a wake-up past the SLO budget");

        Assert.True(waits > 0, "it should have waited at least once");
        Assert.True(_time.GetTimestamp() <= head + Ms(2));
    }

    [Fact]
    public void Schedule_ModelFasterThanATimer_NeverWaits()
    {
        // Rows arrive fast and bigger batches are far cheaper per row, but a batch runs in 0.05 ms: any wait
        // would last a whole timer millisecond, twenty times what running the batch takes.
        var scheduler = Create(maxBatch: 64, sloMs: 50, maxDelayMs: 5);
        TeachWaitingPays(scheduler);
        for (var i = 0; i < 50; i++)
        {
            scheduler.Release(1, Ms(0.04));
            scheduler.Release(8, Ms(0.05));
            scheduler.Release(64, Ms(0.06));
        }

        scheduler.Add(Entry("a"), _time.GetTimestamp());

        Schedule(scheduler);

        Assert.Equal([["a"]], Dispatched);
    }

    [Fact]
    public void Schedule_Waiting_NeverLongerThanRunningTheBatch()
    {
        // Budget and max delay allow 50 ms, but the batch it waits for runs in 2 ms: it waits at most that.
        var scheduler = Create(maxBatch: 8, sloMs: 200, maxDelayMs: 50);
        TeachWaitingPays(scheduler);
        var head = _time.GetTimestamp();
        scheduler.Add(Entry("a"), head);

        WaitUntilDispatched(scheduler, wakeBy: head + Ms(2), "a wake-up past one execution time after the head");

        Assert.True(_time.GetTimestamp() <= head + Ms(2), "waited beyond the batch's execution time");
    }

    [Fact]
    public void Schedule_BiggerBatchesNotCheaperPerRow_DoesNotWait()
    {
        var scheduler = Create(maxBatch: 8);
        TeachWaitingPays(scheduler);
        for (var i = 0; i < 30; i++)
        {
            for (var rows = 1; rows <= 8; rows++)
            {
                scheduler.Release(rows, Ms(rows)); // now n rows cost n x 1 row: linear, as on a busy CPU
            }
        }

        scheduler.Add(Entry("a"), _time.GetTimestamp());

        Schedule(scheduler);

        Assert.Equal([["a"]], Dispatched);
    }

    [Fact]
    public void Schedule_LastRowsComingSoon_WaitsForThem()
    {
        // 7 rows queued, the 8th due in 0.1 ms: 8 rows run in 2 ms, 7 in about 1.86 ms. Waiting 0.1 ms
        // for a 3% gain per row pays for the instance, and costs the queued requests 0.1 ms.
        var next = Schedule(SevenRowsQueued(arrivalEveryMs: 0.1));

        Assert.Empty(_dispatch);
        Assert.True(next <= _time.GetTimestamp() + Ms(2), "the wait ends within the batch's execution time");
    }

    [Fact]
    public void Schedule_LastRowsTooFarOff_DispatchesWhatIsQueued()
    {
        // The same 7 rows and costs, but rows arrive once per 1.5 ms: idling 1.5 ms to run 8 rows in 2 ms
        // (0.44 ms per row) is worse than 7 rows now (0.27 ms per row).
        Schedule(SevenRowsQueued(arrivalEveryMs: 1.5));

        Assert.Equal([["r0", "r1", "r2", "r3", "r4", "r5", "r6"]], Dispatched);
    }

    [Fact]
    public void Schedule_BiggerBatchesMeasuredCostlierPerRow_TakesTheMostEfficientSize()
    {
        // 4 rows run in 4 ms, 8 rows in 12 ms: with 8 rows queued and one instance, two batches of 4 finish
        // sooner than one of 8 (minilm on this CPU: 8 rows best, 16 costlier per row).
        var scheduler = EightRowsCostlierPerRowThanFour();

        for (var i = 0; i < 8; i++)
        {
            scheduler.Add(Entry($"r{i}"), _time.GetTimestamp());
        }

        Schedule(scheduler);

        Assert.Equal([["r0", "r1", "r2", "r3"]], Dispatched);
    }

    [Fact]
    public void Schedule_BatchesPastTheLimit_DoNotSpendTheBudget()
    {
        // minilm's costs on this CPU (1 row 6.4 ms, 8 rows 36, 16 rows 80, 32 rows 160), SLO 50 ms, rows
        // every 0.25 ms. Within 5 ms 21 rows could come, and 21 rows run 105 ms, past the SLO; but the
        // batch takes at most 8 (16 cost more per row), which run in 36 ms: 14 ms of budget, so it waits.
        var scheduler = Create(maxBatch: 32, sloMs: 50, maxDelayMs: 5);
        TeachArrivals(scheduler, everyMs: 0.25);
        for (var i = 0; i < 30; i++)
        {
            scheduler.Release(1, Ms(6.4));
            scheduler.Release(8, Ms(36));
            scheduler.Release(16, Ms(80));
            scheduler.Release(32, Ms(160));
        }

        scheduler.Add(Entry("a"), _time.GetTimestamp());

        var next = Schedule(scheduler);

        Assert.Empty(_dispatch);
        Assert.True(next <= _time.GetTimestamp() + Ms(5));
    }

    [Fact]
    public void Schedule_EfficiencyCap_LiftedOnceInExploreEveryBatches()
    {
        // The cap must not freeze a measurement: one batch in ExploreEvery may take the bigger size again.
        var scheduler = EightRowsCostlierPerRowThanFour();

        var sizes = new List<int>();
        for (var batch = 0; batch < 2 * BatchScheduler<string, int>.ExploreEvery; batch++)
        {
            while (scheduler.QueuedRows < 8)
            {
                scheduler.Add(Entry("r"), _time.GetTimestamp());
            }

            Schedule(scheduler);
            var rows = Assert.Single(_dispatch).Length;
            sizes.Add(rows);
            scheduler.Release(rows, Ms(rows == 8 ? 12 : 4)); // the bigger size stays costlier per row
        }

        Assert.Equal(2, sizes.Count(size => size == 8));
        Assert.Equal(2 * (BatchScheduler<string, int>.ExploreEvery - 1), sizes.Count(size => size == 4));
    }

    // Schedules, and advances the clock to each wake-up the scheduler asks for, until it dispatches; every
    // wake-up must be by 'wakeBy'. Returns how many times it waited.
    private int WaitUntilDispatched(BatchScheduler<string, int> scheduler, long wakeBy, string message)
    {
        var waits = 0;
        while (true)
        {
            var next = Schedule(scheduler);
            if (_dispatch.Count > 0)
            {
                return waits;
            }

            waits++;
            Assert.True(next <= wakeBy, $"{message}: {(next - wakeBy) * 1000.0 / _time.TimestampFrequency} ms late");
            _time.Advance(TimeSpan.FromTicks(Math.Max(1, (next - _time.GetTimestamp()) * TimeSpan.TicksPerSecond / _time.TimestampFrequency)));
        }
    }

    // Teaches the scheduler that, while rows wait, the next comes every 'everyMs': 20 rows arrive to a
    // queue that then drains at once.
    private void TeachArrivals(BatchScheduler<string, int> scheduler, double everyMs)
    {
        for (var i = 0; i < 20; i++)
        {
            scheduler.Add(Entry("warm"), _time.GetTimestamp());
            if (i < 19)
            {
                _time.Advance(TimeSpan.FromMilliseconds(everyMs));
            }
        }

        while (scheduler.QueuedRows > 0)
        {
            Schedule(scheduler);
            foreach (var batch in _dispatch)
            {
                scheduler.Release(batch.Sum(e => e.Rows), Ms(1));
            }
        }

        Assert.InRange(scheduler.Arrivals.RowsPerTick * Ms(everyMs), 0.9, 1.1);
    }

    // One instance, max 8 rows; 4 rows measured at 4 ms and 8 rows at 12 ms: 4 is the efficient size.
    private BatchScheduler<string, int> EightRowsCostlierPerRowThanFour()
    {
        var scheduler = Create(maxBatch: 8);
        for (var i = 0; i < 10; i++)
        {
            scheduler.Release(4, Ms(4));
            scheduler.Release(8, Ms(12));
        }

        return scheduler;
    }

    // One instance, batches of 1 to 8 rows measured on the line from 1 ms to 2 ms, rows arriving every
    // 'arrivalEveryMs' while others wait, and 7 rows (r0..r6) queued now.
    private BatchScheduler<string, int> SevenRowsQueued(double arrivalEveryMs)
    {
        var scheduler = Create(maxBatch: 8);
        TeachArrivals(scheduler, arrivalEveryMs);
        LinearCostsFrom(scheduler, oneRowMs: 1, eightRowsMs: 2);
        for (var i = 0; i < 7; i++)
        {
            scheduler.Add(Entry($"r{i}"), _time.GetTimestamp());
        }

        return scheduler;
    }

    // Sets every size's measured time on the line from 1 row to 8 rows.
    private void LinearCostsFrom(BatchScheduler<string, int> scheduler, double oneRowMs, double eightRowsMs)
    {
        for (var i = 0; i < 30; i++)
        {
            for (var rows = 1; rows <= 8; rows++)
            {
                scheduler.Release(rows, Ms(oneRowMs + ((eightRowsMs - oneRowMs) * (rows - 1) / 7)));
            }
        }
    }

    [Fact]
    public void Schedule_AllInstancesBusy_AccumulatesThenDispatchesTogether()
    {
        var scheduler = Create(maxBatch: 8, instances: 1);
        scheduler.Add(Entry("a"), _time.GetTimestamp());
        Schedule(scheduler);
        foreach (var name in new[] { "b", "c", "d" })
        {
            scheduler.Add(Entry(name), _time.GetTimestamp());
            Schedule(scheduler);
            Assert.Empty(_dispatch);
        }

        scheduler.Release(1, Ms(1));
        Schedule(scheduler);

        Assert.Equal([["b", "c", "d"]], Dispatched);
    }

    [Fact]
    public void Schedule_MultiRowRequests_CountTheirRowsAndAreNeverSplit()
    {
        var scheduler = Create(maxBatch: 8, instances: 1);
        scheduler.Add(Entry("four-a", rows: 4), _time.GetTimestamp());
        scheduler.Add(Entry("four-b", rows: 4), _time.GetTimestamp());
        scheduler.Add(Entry("four-c", rows: 4), _time.GetTimestamp());

        Schedule(scheduler);
        var first = Dispatched;
        scheduler.Release(8, Ms(1));
        Schedule(scheduler);

        Assert.Equal([["four-a", "four-b"]], first);
        Assert.Equal([["four-c"]], Dispatched);
    }

    [Fact]
    public void Schedule_SeveralInstances_EachBatchTakesItsFairShare()
    {
        // Two idle instances and ten rows: five each, not ten on one and nothing on the other.
        var scheduler = Create(maxBatch: 64, instances: 2);
        for (var i = 0; i < 10; i++)
        {
            scheduler.Add(Entry($"r{i}"), _time.GetTimestamp());
        }

        Schedule(scheduler);

        Assert.Equal([["r0", "r1", "r2", "r3", "r4"], ["r5", "r6", "r7", "r8", "r9"]], Dispatched);
    }

    [Fact]
    public void Schedule_OtherInstanceRunsLittle_LeavesRowsForIt()
    {
        // One instance runs 1 row; 13 wait. The idle one takes 7 (half of the 14 queued and running),
        // leaving 6 for the other, which will soon be free: both then run batches of about 7.
        var scheduler = Create(maxBatch: 64, instances: 2);
        scheduler.Add(Entry("running"), _time.GetTimestamp());
        Schedule(scheduler);
        for (var i = 0; i < 13; i++)
        {
            scheduler.Add(Entry($"r{i}"), _time.GetTimestamp());
        }

        Schedule(scheduler);

        Assert.Equal(7, Assert.Single(_dispatch).Length);
        Assert.Equal(6, scheduler.QueuedRows);
    }

    [Fact]
    public void Schedule_InstancesFreedTogether_ShareFollowsTheRecentLoad()
    {
        // 16 clients, two instances running 8 rows each, both done at once. The first 3 rows back do not
        // make a fair share of 2: the 16 rows seen a moment ago do (8), so the batch waits for them.
        var scheduler = Create(maxBatch: 32, instances: 2);
        TeachArrivals(scheduler, everyMs: 0.1);
        _time.Advance(TimeSpan.FromSeconds(2)); // the 20 rows it was taught with are long forgotten
        for (var i = 0; i < 16; i++)
        {
            scheduler.Add(Entry($"first{i}"), _time.GetTimestamp());
        }

        Schedule(scheduler);
        Assert.Equal([8, 8], _dispatch.Select(batch => batch.Length));
        _time.Advance(TimeSpan.FromMilliseconds(2));
        scheduler.Release(8, Ms(2));
        scheduler.Release(8, Ms(2));
        for (var i = 0; i < 3; i++)
        {
            scheduler.Add(Entry($"r{i}"), _time.GetTimestamp());
        }

        Schedule(scheduler);
        Assert.Empty(_dispatch);

        for (var i = 3; i < 8; i++)
        {
            scheduler.Add(Entry($"r{i}"), _time.GetTimestamp());
        }

        Schedule(scheduler);
        Assert.Equal([["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"]], Dispatched);
    }

    [Fact]
    public void Schedule_DifferentShapeGroups_NeverShareABatch()
    {
        var scheduler = Create(maxBatch: 8, instances: 1);
        scheduler.Add(Entry("seq32-a", key: "32"), _time.GetTimestamp());
        scheduler.Add(Entry("seq16-a", key: "16"), _time.GetTimestamp());
        scheduler.Add(Entry("seq32-b", key: "32"), _time.GetTimestamp());

        Schedule(scheduler);
        scheduler.Release(2, Ms(1));
        var first = Dispatched;
        Schedule(scheduler);

        Assert.Equal([["seq32-a", "seq32-b"]], first);
        Assert.Equal([["seq16-a"]], Dispatched);
    }

    [Fact]
    public void Schedule_HigherPriority_GoesFirst()
    {
        var scheduler = Create(maxBatch: 1, instances: 1, priorities: 2);
        scheduler.Add(Entry("busy"), _time.GetTimestamp());
        Schedule(scheduler);
        scheduler.Add(Entry("low", priority: 1), _time.GetTimestamp());
        _time.Advance(TimeSpan.FromMilliseconds(1));
        scheduler.Add(Entry("high", priority: 0), _time.GetTimestamp());

        scheduler.Release(1, Ms(1));
        Schedule(scheduler);

        Assert.Equal([["high"]], Dispatched);
    }

    [Fact]
    public void Schedule_FixedMode_WaitsMaxDelayUnlessPreferredSizeOrFull()
    {
        var scheduler = Create(maxBatch: 8, mode: BatchingMode.Fixed, maxDelayMs: 3, preferred: [2]);
        var head = _time.GetTimestamp();
        scheduler.Add(Entry("a"), head);

        var next = Schedule(scheduler);
        Assert.Empty(_dispatch);
        Assert.Equal(head + Ms(3), next);

        scheduler.Add(Entry("b"), _time.GetTimestamp());
        Schedule(scheduler);
        Assert.Equal([["a", "b"]], Dispatched);

        scheduler.Release(2, Ms(1));
        scheduler.Add(Entry("c"), _time.GetTimestamp());
        Schedule(scheduler);
        Assert.Empty(_dispatch);
        _time.Advance(TimeSpan.FromMilliseconds(3));
        Schedule(scheduler);
        Assert.Equal([["c"]], Dispatched);
    }

    [Fact]
    public void Schedule_OffMode_RunsEachRequestAlone()
    {
        var scheduler = Create(maxBatch: 8, instances: 2, mode: BatchingMode.Off);
        scheduler.Add(Entry("a", rows: 2), _time.GetTimestamp());
        scheduler.Add(Entry("b"), _time.GetTimestamp());
        scheduler.Add(Entry("c"), _time.GetTimestamp());

        Schedule(scheduler);

        Assert.Equal([["a"], ["b"]], Dispatched);
    }

    [Fact]
    public void Schedule_CancelledOrExpired_DroppedUncomputedAndDeadlineWakesScheduler()
    {
        var scheduler = Create(maxBatch: 8, instances: 1);
        scheduler.Add(Entry("busy"), _time.GetTimestamp());
        Schedule(scheduler);
        using var cancel = new CancellationTokenSource();
        scheduler.Add(Entry("cancelled", token: cancel.Token), _time.GetTimestamp());
        scheduler.Add(Entry("expiring", deadline: _time.GetTimestamp() + Ms(2)), _time.GetTimestamp());
        scheduler.Add(Entry("patient"), _time.GetTimestamp());

        var next = Schedule(scheduler);
        Assert.Equal(_time.GetTimestamp() + Ms(2), next);

        cancel.Cancel();
        Schedule(scheduler);
        Assert.Equal(["cancelled"], _dropped.Select(e => e.Request));

        _time.Advance(TimeSpan.FromMilliseconds(2));
        Schedule(scheduler);
        Assert.Equal(["expiring"], _dropped.Select(e => e.Request));
        Assert.Equal(1, scheduler.QueuedRows);

        scheduler.Release(1, Ms(1));
        Schedule(scheduler);
        Assert.Equal([["patient"]], Dispatched);
    }
}
