using ServingGateway.TestSupport;

namespace ServingGateway.Batching.Tests;

/// <summary>
/// The deadline policy on a fake clock: admission at enqueue (by priority, by timeout), queued requests dropped once
/// their deadline passed, and the queue policy refusing nothing below its limits.
/// </summary>
public sealed partial class DynamicBatcherTests
{
    // SLO 50 ms x factor 2: a request without a timeout must be done within 100 ms.
    private DynamicBatcher<string, string> Create(OverloadPolicy policy, int priorityLevels = 1) =>
        Create(new BatchingOptions
        {
            MaxBatchRows = 4, MaxQueueRows = 64, Instances = 1, Mode = BatchingMode.Off, PriorityLevels = priorityLevels,
            LatencySlo = TimeSpan.FromMilliseconds(50), HasLatencySlo = true, SloFactor = 2, Overload = policy,
        });

    // Holds the only instance with one request (which the clock then says ran 10 ms), so the batcher learns that a
    // row takes 10 ms: a drain rate of 100 rows a second (batches of 4 assumed no cheaper per row). The instance
    // stays busy with a second request afterwards, so what is enqueued next waits.
    private async Task<Task<string>> TeachTenMsARowAndOccupyAsync(DynamicBatcher<string, string> batcher)
    {
        Assert.Equal("teach@0/1", await RunAloneAsync(batcher, "teach", TimeSpan.FromMilliseconds(10)));
        await Poll.UntilAsync(() => batcher.DrainRowsPerSecond > 0, "the batcher to learn its drain rate", Patience);
        Assert.Equal(100, batcher.DrainRowsPerSecond, 6);

        return await OccupyAsync(batcher);
    }

    // Runs one request alone on the only instance, which the clock then says took <took>; returns its result.
    private async Task<string> RunAloneAsync(DynamicBatcher<string, string> batcher, string request, TimeSpan took, TimeSpan? timeout = null)
    {
        _gate.Reset();
        var result = batcher.EnqueueAsync(request, 1, 0, "k", 0, timeout, CancellationToken.None);
        Assert.True(await _started.WaitAsync(Patience));
        _time.Advance(took);
        _gate.Set();
        return await result.WaitAsync(Patience);
    }

    [Fact]
    public async Task Overload_Deadline_WorkAheadPastTheDeadline_RefusedAtOnceWithTheReason()
    {
        var batcher = Create(OverloadPolicy.Deadline);
        var busy = await TeachTenMsARowAndOccupyAsync(batcher);

        // The n-th request has n-1 rows ahead: (n-1) x 10 ms + 10 ms <= 100 ms for n <= 10.
        var admitted = Enumerable.Range(0, 10).Select(i => batcher.EnqueueAsync($"q{i}", 1, 0, "k", 0, null, CancellationToken.None)).ToList();
        var ex = Assert.Throws<BatchRejectedException>(() => { _ = batcher.EnqueueAsync("late", 1, 0, "k", 0, null, CancellationToken.None); });

        Assert.Equal(RejectionReason.Deadline, ex.Reason);
        Assert.Equal(1, batcher.Counters.RejectedFor(RejectionReason.Deadline));
        Assert.Equal("overloaded: the work queued ahead would take about 110 ms, past this request's deadline of 100 ms (latency_slo_ms 50 x slo_factor 2)", ex.Message);
        Assert.True(ex.RetryAfter >= TimeSpan.FromSeconds(1));
        Assert.Equal(10, batcher.QueuedRows);

        // A caller that gives itself more time (its timeout parameter) is admitted behind the same queue.
        admitted.Add(batcher.EnqueueAsync("patient", 1, 0, "k", 0, TimeSpan.FromSeconds(1), CancellationToken.None));
        _gate.Set();
        await Task.WhenAll([busy, .. admitted]).WaitAsync(Patience);
    }

    [Fact]
    public async Task Overload_Deadline_TimeSinceArrivalCounts_RefusedWhereANewArrivalIsAdmitted()
    {
        var batcher = Create(OverloadPolicy.Deadline);
        var busy = await TeachTenMsARowAndOccupyAsync(batcher);
        var ahead = Enumerable.Range(0, 5).Select(i => batcher.EnqueueAsync($"q{i}", 1, 0, "k", 0, null, CancellationToken.None)).ToList();
        var sixtyMsAgo = _time.GetTimestamp() - (long)(0.060 * _time.TimestampFrequency);

        // 5 rows ahead: 60 ms of work (with its own run). Arrived now: admitted (60 <= 100 ms). Arrived 60 ms ago (the
        // server took that long to read and decode it): 120 ms, past its deadline, which runs from its arrival.
        var ex = Assert.Throws<BatchRejectedException>(() => { _ = batcher.EnqueueAsync("slow-to-read", 1, 0, "k", 0, null, sixtyMsAgo, CancellationToken.None); });
        ahead.Add(batcher.EnqueueAsync("fresh", 1, 0, "k", 0, null, CancellationToken.None));

        Assert.Equal(RejectionReason.Deadline, ex.Reason);
        Assert.Equal(
            "overloaded: 60 ms since it arrived and about 60 ms for the work queued ahead make 120 ms, past this request's deadline of 100 ms (latency_slo_ms 50 x slo_factor 2)",
            ex.Message);
        _gate.Set();
        await Task.WhenAll([busy, .. ahead]).WaitAsync(Patience);
    }

    [Fact]
    public async Task Overload_Deadline_AnswersPastTheirSlo_AdmitsOnlyAShareOfTheDeadline()
    {
        var batcher = Create(OverloadPolicy.Deadline);
        await RunAloneAsync(batcher, "teach", TimeSpan.FromMilliseconds(10)); // 10 ms a row, in time (SLO 50 ms)

        // 99 answers past their target: requests alone in the queue (always admitted) whose timeout of 5 ms is shorter
        // than their 10 ms run. With the teaching answer, a window of 100 with 99 late: the share shrinks to 0.75.
        for (var i = 0; i < 99; i++)
        {
            await RunAloneAsync(batcher, $"late{i}", TimeSpan.FromMilliseconds(10), timeout: TimeSpan.FromMilliseconds(5));
        }

        await Poll.UntilAsync(() => batcher.Counters.AnsweredLate == 99, "the late answers counted", Patience);
        Assert.Equal(0.75, batcher.Counters.AdmissionShare);
        var busy = await OccupyAsync(batcher);

        // The n-th request has n-1 rows ahead: n x 10 ms, admitted up to 75 ms (0.75 x the 100 ms deadline): 7 of them,
        // where the deadline alone admits 10 (Overload_Deadline_WorkAheadPastTheDeadline_RefusedAtOnceWithTheReason).
        var admitted = Enumerable.Range(0, 7).Select(i => batcher.EnqueueAsync($"q{i}", 1, 0, "k", 0, null, CancellationToken.None)).ToList();
        var ex = Assert.Throws<BatchRejectedException>(() => { _ = batcher.EnqueueAsync("eighth", 1, 0, "k", 0, null, CancellationToken.None); });

        Assert.Equal(RejectionReason.Deadline, ex.Reason);
        Assert.Equal(
            "overloaded: the work queued ahead would take about 80 ms, past the 75 ms admitted now: 0.75 of this request's deadline of 100 ms "
            + "(latency_slo_ms 50 x slo_factor 2), since more than 1% of recent answers finished past their SLO",
            ex.Message);
        _gate.Set();
        await Task.WhenAll([busy, .. admitted]).WaitAsync(Patience);
    }

    [Fact]
    public async Task Overload_Deadline_LowerPriorityShedFirst_UrgentStillAdmitted()
    {
        var batcher = Create(OverloadPolicy.Deadline, priorityLevels: 2);
        var busy = await TeachTenMsARowAndOccupyAsync(batcher);
        var low = Enumerable.Range(0, 10).Select(i => batcher.EnqueueAsync($"low{i}", 1, 0, "k", 1, null, CancellationToken.None)).ToList();

        var refused = Assert.Throws<BatchRejectedException>(() => { _ = batcher.EnqueueAsync("low-late", 1, 0, "k", 1, null, CancellationToken.None); });
        var urgent = batcher.EnqueueAsync("urgent", 1, 0, "k", 0, null, CancellationToken.None); // nothing ahead at level 0

        Assert.Equal(RejectionReason.Deadline, refused.Reason);
        Assert.Equal(11, batcher.QueuedRows);
        _gate.Set();
        await Task.WhenAll([busy, urgent, .. low]).WaitAsync(Patience);
    }

    [Fact]
    public async Task Overload_Deadline_QueuedPastItsDeadline_DroppedUncomputed()
    {
        var batcher = Create(OverloadPolicy.Deadline);
        var busy = await TeachTenMsARowAndOccupyAsync(batcher);
        var queued = batcher.EnqueueAsync("q", 1, 0, "k", 0, null, CancellationToken.None);
        await Poll.UntilAsync(() => batcher.QueuedRows == 1, "the request queued", Patience);

        // A millisecond at a time until it is dropped (FakeClockSteps: one 100 ms step can land between the loop's reading
        // of the clock and its arming of the timer).
        var waited = await FakeClockSteps.AdvanceUntilAsync(_time, () => queued.IsCompleted, "the request past its deadline (the instance still busy) to be dropped", Patience);

        Assert.True(waited >= TimeSpan.FromMilliseconds(100), $"dropped after {waited.TotalMilliseconds} ms, before its 100 ms deadline");
        var ex = await Assert.ThrowsAsync<BatchRejectedException>(() => queued.WaitAsync(Patience));
        Assert.Equal(RejectionReason.Expired, ex.Reason);
        Assert.Equal(1, batcher.Counters.RejectedFor(RejectionReason.Expired));
        Assert.Equal(0, batcher.QueuedRows);
        _gate.Set();
        await busy.WaitAsync(Patience);
    }

    [Fact]
    public async Task Overload_Queue_TheSameLoad_AdmitsEverythingUpToItsLimit()
    {
        var batcher = Create(OverloadPolicy.Queue);
        var busy = await TeachTenMsARowAndOccupyAsync(batcher);

        var queued = Enumerable.Range(0, 30).Select(i => batcher.EnqueueAsync($"q{i}", 1, 0, "k", 0, null, CancellationToken.None)).ToList();
        _time.Advance(TimeSpan.FromSeconds(1)); // no deadline: nothing expires either

        Assert.Equal(30, batcher.QueuedRows);
        _gate.Set();
        await Task.WhenAll([busy, .. queued]).WaitAsync(Patience);
    }

    [Fact]
    public async Task Overload_Deadline_OneRowMeasuredPastTheDeadline_LoneRequestStillAdmittedAndRelearns()
    {
        var batcher = Create(OverloadPolicy.Deadline);

        // A stall: the first row took 250 ms, past the 100 ms deadline (SLO 50 x 2).
        await RunAloneAsync(batcher, "stalled", TimeSpan.FromMilliseconds(250));
        await Poll.UntilAsync(() => batcher.DrainRowsPerSecond > 0, "the batcher to learn its drain rate", Patience);

        // Nothing waits ahead: refusing would free nothing and stop the measurements that correct the estimate.
        _gate.Reset();
        var lone = batcher.EnqueueAsync("lone", 1, 0, "k", 0, null, CancellationToken.None);
        Assert.True(await _started.WaitAsync(Patience));

        // It runs; the next one has nothing queued ahead either (optimistic: the running batch is not counted). Behind
        // that one, a row of 250 ms is queued ahead: even the best case misses the deadline, refused at once.
        var next = batcher.EnqueueAsync("next", 1, 0, "k", 0, null, CancellationToken.None);
        var behind = Assert.Throws<BatchRejectedException>(() => { _ = batcher.EnqueueAsync("behind", 1, 0, "k", 0, null, CancellationToken.None); });
        Assert.Equal(RejectionReason.Deadline, behind.Reason);
        _gate.Set();
        Assert.Equal("lone@0/1", await lone.WaitAsync(Patience));
        Assert.Equal("next@0/1", await next.WaitAsync(Patience));
    }

    [Fact]
    public async Task Overload_DefaultPolicyWithoutSloOrTimeout_NothingRefusedByDeadline()
    {
        // The defaults (policy deadline) and a model that names no SLO: the adaptive rule's 50 ms budget is no deadline.
        var batcher = Create(new BatchingOptions { MaxBatchRows = 4, MaxQueueRows = 64, Instances = 1, Mode = BatchingMode.Off });
        Assert.Equal(OverloadPolicy.Deadline, batcher.Options.Overload);
        var busy = await TeachTenMsARowAndOccupyAsync(batcher);

        // 60 rows ahead at 10 ms a row: 600 ms of work, refused under an SLO of 50 ms x 2, admitted here.
        var queued = Enumerable.Range(0, 60).Select(i => batcher.EnqueueAsync($"q{i}", 1, 0, "k", 0, null, CancellationToken.None)).ToList();
        _time.Advance(TimeSpan.FromSeconds(1)); // and nothing expires in the queue

        Assert.Equal(60, batcher.QueuedRows);
        _gate.Set();
        await Task.WhenAll([busy, .. queued]).WaitAsync(Patience);
        Assert.All(Enum.GetValues<RejectionReason>(), r => Assert.Equal(0, batcher.Counters.RejectedFor(r)));
        Assert.Equal((0, 0), (batcher.Counters.AnsweredInTime, batcher.Counters.AnsweredLate)); // no deadline: neither
    }

    [Fact]
    public async Task Counters_EstimatedWait_IsTheQueuedRowsOverTheDrainRate()
    {
        var batcher = Create(OverloadPolicy.Deadline);
        Assert.Equal(TimeSpan.Zero, batcher.Counters.EstimatedWait); // nothing measured yet
        var busy = await TeachTenMsARowAndOccupyAsync(batcher);

        var queued = Enumerable.Range(0, 7).Select(i => batcher.EnqueueAsync($"q{i}", 1, 0, "k", 0, null, CancellationToken.None)).ToList();

        Assert.Equal(70, batcher.Counters.EstimatedWait.TotalMilliseconds, 6); // 7 rows at 100 rows a second
        _gate.Set();
        await Task.WhenAll([busy, .. queued]).WaitAsync(Patience);
        await Poll.UntilAsync(() => batcher.QueuedRows == 0, "the queue to drain", Patience);
        Assert.Equal(TimeSpan.Zero, batcher.Counters.EstimatedWait);
    }

    [Fact]
    public async Task Counters_AnswersWithADeadline_CountedInTimeOrLate()
    {
        var batcher = Create(OverloadPolicy.Deadline);
        var busy = await TeachTenMsARowAndOccupyAsync(batcher); // the teaching request's batch ran 10 ms: within 100 ms
        Assert.Equal((1, 0), (batcher.Counters.AnsweredInTime, batcher.Counters.AnsweredLate));

        // "busy" (deadline 100 ms) runs on past it: the clock says its batch took 150 ms.
        _time.Advance(TimeSpan.FromMilliseconds(150));
        _gate.Set();
        await busy.WaitAsync(Patience);

        // The caller may see its answer a moment before the instance's thread counts it.
        await Poll.UntilAsync(() => batcher.Counters.AnsweredLate > 0, "the late answer counted", Patience);
        Assert.Equal((1, 1), (batcher.Counters.AnsweredInTime, batcher.Counters.AnsweredLate));
    }

    [Fact]
    public async Task Counters_CoDelShed_CountedAsCoDel()
    {
        var batcher = Create(OverloadPolicy.CoDel);
        var busy = await OccupyAsync(batcher);
        var first = batcher.EnqueueAsync("r0", 1, 0, "k", 0, null, CancellationToken.None);

        // One more request every 10 ms while the instance stays busy: the queue never empties, and after the interval
        // (100 ms) whatever waited past the target (25 ms) is shed; r0 first.
        var more = new List<Task<string>>();
        for (var i = 1; i < 60 && !first.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(10));
            more.Add(batcher.EnqueueAsync($"r{i}", 1, 0, "k", 0, null, CancellationToken.None));
            await Task.Yield();
        }

        var ex = await Assert.ThrowsAsync<BatchRejectedException>(() => first.WaitAsync(Patience));
        Assert.Equal(RejectionReason.CoDel, ex.Reason);
        Assert.True(batcher.Counters.RejectedFor(RejectionReason.CoDel) >= 1);
        Assert.Equal(0, batcher.Counters.RejectedFor(RejectionReason.Expired));
        _gate.Set();
        await busy.WaitAsync(Patience);
        await Task.WhenAll(more.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))).WaitAsync(Patience);
    }
}
