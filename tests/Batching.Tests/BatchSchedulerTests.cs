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

        while (true)
        {
            var next = Schedule(scheduler);
            if (_dispatch.Count > 0)
            {
                break;
            }

            Assert.True(next <= head + Ms(2), "a wake-up past the max queue delay");
            _time.Advance(TimeSpan.FromTicks(Math.Max(1, (next - _time.GetTimestamp()) * TimeSpan.TicksPerSecond / _time.TimestampFrequency)));
        }

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

        var waits = 0;
        while (true)
        {
            var next = Schedule(scheduler);
            if (_dispatch.Count > 0)
            {
                break;
            }

            waits++;
            Assert.True(next <= head + Ms(2), $"a wake-up {(next - head) * 1000.0 / _time.TimestampFrequency} ms after the head, past the SLO budget");
            _time.Advance(TimeSpan.FromTicks(Math.Max(1, (next - _time.GetTimestamp()) * TimeSpan.TicksPerSecond / _time.TimestampFrequency)));
        }

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

        while (true)
        {
            var next = Schedule(scheduler);
            if (_dispatch.Count > 0)
            {
                break;
            }

            Assert.True(next <= head + Ms(2), "a wake-up past one execution time after the head");
            _time.Advance(TimeSpan.FromTicks(Math.Max(1, (next - _time.GetTimestamp()) * TimeSpan.TicksPerSecond / _time.TimestampFrequency)));
        }

        Assert.True(_time.GetTimestamp() <= head + Ms(2), "waited beyond the batch's execution time");
    }

    [Fact]
    public void Schedule_BiggerBatchesNotCheaperPerRow_DoesNotWait()
    {
        var scheduler = Create(maxBatch: 8);
        TeachWaitingPays(scheduler);
        for (var i = 0; i < 20; i++)
        {
            scheduler.Release(8, Ms(8)); // now 8 rows cost 8 x 1 row: linear, as on a busy CPU
        }

        scheduler.Add(Entry("a"), _time.GetTimestamp());

        Schedule(scheduler);

        Assert.Equal([["a"]], Dispatched);
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
