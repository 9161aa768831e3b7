using Microsoft.Extensions.Time.Testing;
using ServingGateway.LoadTool.Load;
using ServingGateway.LoadTool.Results;

namespace ServingGateway.LoadTool.Tests.Results;

public sealed class LatencyRecorderTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Summarize_LatenciesOneToThousandMs_GivesHdrPercentiles()
    {
        var summary = OneToThousandMs();

        Assert.Equal(1000, summary.Responses);
        Assert.Equal(500, summary.Latency.PercentileMs(50), 0);
        Assert.Equal(750, summary.Latency.PercentileMs(75), 0);
        Assert.Equal(990, summary.Latency.PercentileMs(99), 0);
        Assert.Equal(999, summary.Latency.PercentileMs(99.9), 0);
        Assert.Equal(1000, summary.Latency.MaxMs, 0);
        Assert.Equal(500.5, summary.Latency.MeanMs, 1);
    }

    [Fact]
    public void CountAtOrAbove_LatenciesOneToThousandMs_CountsTheTail()
    {
        var latency = OneToThousandMs().Latency;

        Assert.Equal(101, latency.CountAtOrAbove(900));
        Assert.Equal(1, latency.CountAtOrAbove(1000));
        Assert.Equal(0, latency.CountAtOrAbove(1010));
        Assert.Equal(1000, latency.CountAtOrAbove(0));
    }

    [Fact]
    public void Record_OpenLoop_LatencyFromIntendedAndServiceTimeFromSend()
    {
        var start = _time.GetTimestamp();
        var recorder = new LatencyRecorder(_time, start, TimeSpan.FromSeconds(1), ["m"]);

        recorder.Record(start, start + Ticks(40), start + Ticks(50), Ok());

        var summary = recorder.Summarize(_time.GetTimestamp(), stoppedEarly: false);
        Assert.Equal(50, summary.Latency.MaxMs, 1);
        Assert.Equal(10, summary.ServiceTime.MaxMs, 1);
    }

    [Fact]
    public void Summarize_ErrorsAndHeaders_CountedByStatusReasonAndValue()
    {
        var start = _time.GetTimestamp();
        var recorder = new LatencyRecorder(_time, start, TimeSpan.FromSeconds(1), ["a", "b"]);
        recorder.Record(start, start, start + Ticks(1), new RequestOutcome(0, 200, null, "hit-memory", "node-1"));
        recorder.Record(start, start, start + Ticks(1), new RequestOutcome(0, 200, null, "miss", "node-2"));
        recorder.Record(start, start, start + Ticks(1), new RequestOutcome(1, 200, null, "hit-memory", "node-1"));
        recorder.Record(start, start, start + Ticks(1), new RequestOutcome(1, 503, "queue full", null, "node-1"));
        recorder.Record(start, start, start + Ticks(1), new RequestOutcome(1, 503, "queue full", null, "node-2"));
        recorder.Record(start, start, start + Ticks(1), RequestOutcome.Failure(0, "timeout"));
        recorder.Record(start, start, start + Ticks(1), RequestOutcome.Abort(0));

        var summary = recorder.Summarize(_time.GetTimestamp(), stoppedEarly: false);

        Assert.Equal(6, summary.Finished);
        Assert.Equal(5, summary.Responses);
        Assert.Equal(3, summary.Errors);
        Assert.Equal(0.5, summary.ErrorRate);
        Assert.Equal(2, summary.ErrorCounts[new ErrorKey(503, "queue full")]);
        Assert.Equal(1, summary.ErrorCounts[new ErrorKey(0, "timeout")]);
        Assert.Equal(2, summary.Cache["hit-memory"]);
        Assert.Equal(2, summary.Cache["(none)"]);
        Assert.Equal(3, summary.ServedBy["node-1"]);
        Assert.Equal(3, summary.StatusCounts[200]);
        Assert.Equal([(3L, 1L), (3L, 2L)], summary.Targets.Select(t => (t.Finished, t.Errors)));
    }

    [Fact]
    public void Summarize_GrpcStatuses_OkIsASuccessAndRefusalsAreByName()
    {
        var start = _time.GetTimestamp();
        var recorder = new LatencyRecorder(_time, start, TimeSpan.FromSeconds(1), ["m"]);
        var ok = ResponseStatus.Grpc(Grpc.Core.StatusCode.OK);
        var unavailable = ResponseStatus.Grpc(Grpc.Core.StatusCode.Unavailable);
        var exhausted = ResponseStatus.Grpc(Grpc.Core.StatusCode.ResourceExhausted);
        var invalid = ResponseStatus.Grpc(Grpc.Core.StatusCode.InvalidArgument);
        recorder.Record(start, start, start + Ticks(1), new RequestOutcome(0, ok, null, null, null));
        recorder.Record(start, start, start + Ticks(1), new RequestOutcome(0, ok, null, null, null));
        recorder.Record(start, start, start + Ticks(1), new RequestOutcome(0, unavailable, "queue full", null, null, RetryAfter: true));
        recorder.Record(start, start, start + Ticks(1), new RequestOutcome(0, exhausted, "rate limited", null, null));
        recorder.Record(start, start, start + Ticks(1), new RequestOutcome(0, invalid, "bad shape", null, null));

        var summary = recorder.Summarize(_time.GetTimestamp(), stoppedEarly: false);

        Assert.Equal((5L, 5L, 2L, 3L), (summary.Finished, summary.Responses, summary.Successes, summary.Errors));
        Assert.Equal((2L, 1L), (summary.Refusals, summary.RefusalsWithRetryAfter));
        Assert.Equal(2, summary.StatusCounts[ok]);
        Assert.False(summary.StatusCounts.ContainsKey(200));
        Assert.Equal(["OK", "INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", "UNAVAILABLE"], summary.StatusCounts.Keys.Order().Select(k => k.ToString()));
        Assert.Equal(1, summary.ErrorCounts[new ErrorKey(invalid, "bad shape")]);
        Assert.Equal(["none", "200", "503", "OK"], new ResponseStatus[] { ok, 503, 200, ResponseStatus.None }.Order().Select(k => k.ToString()));
    }

    [Fact]
    public void Summarize_Timeline_OneRowPerSecondOfCompletion()
    {
        var start = _time.GetTimestamp();
        var recorder = new LatencyRecorder(_time, start, TimeSpan.FromSeconds(3), ["m"]);
        recorder.Record(start, start, start + Ticks(100), Ok());
        recorder.Record(start, start, start + Ticks(200), Ok());
        recorder.Record(start + Ticks(2000), start + Ticks(2000), start + Ticks(2500), Ok());

        var summary = recorder.Summarize(_time.GetTimestamp(), stoppedEarly: false);

        Assert.Equal([0, 1, 2], summary.Timeline.Select(s => s.Second));
        Assert.Equal([2L, 0L, 1L], summary.Timeline.Select(s => s.Finished));
        Assert.Equal(200, summary.Timeline[0].MaxMs, 0);
        Assert.Equal(500, summary.Timeline[2].P99Ms, 0);
        Assert.Equal(TimeSpan.FromSeconds(3), summary.Elapsed);
    }

    [Fact]
    public void Summarize_CompletionsAfterThePlannedEnd_CountInTheLastSecond()
    {
        var start = _time.GetTimestamp();
        var recorder = new LatencyRecorder(_time, start, TimeSpan.FromSeconds(2), ["m"]);
        recorder.Record(start + Ticks(1990), start + Ticks(1990), start + Ticks(2300), Ok());

        var summary = recorder.Summarize(_time.GetTimestamp(), stoppedEarly: false);

        Assert.Equal([0L, 1L], summary.Timeline.Select(s => s.Finished));
        Assert.Equal(2.3, summary.Elapsed.TotalSeconds, 6);
    }

    [Fact]
    public void Record_ManyDistinctReasons_KeepsAtMostTheCapAndCountsTheRestAsOther()
    {
        var start = _time.GetTimestamp();
        var recorder = new LatencyRecorder(_time, start, TimeSpan.FromSeconds(1), ["m"]);
        for (var i = 0; i < LatencyRecorder.MaxDistinctValues + 50; i++)
        {
            recorder.Record(start, start, start + Ticks(1), new RequestOutcome(0, 500, $"error {i}", null, null));
        }

        var summary = recorder.Summarize(_time.GetTimestamp(), stoppedEarly: false);

        Assert.Equal(LatencyRecorder.MaxDistinctValues + 1, summary.ErrorCounts.Count);
        Assert.Equal(50, summary.ErrorCounts[new ErrorKey(500, "(other)")]);
    }

    [Fact]
    public void Summarize_WithSlo_CountsOnlyTwoXxAnswersWithinItAsGoodput()
    {
        var start = _time.GetTimestamp();
        var recorder = new LatencyRecorder(_time, start, TimeSpan.FromSeconds(2), ["m"], slo: TimeSpan.FromMilliseconds(50));
        recorder.Record(start, start, start + Ticks(10), Ok());                                              // good
        recorder.Record(start, start + Ticks(45), start + Ticks(50), Ok());                                  // good: exactly the SLO, from the intended send
        recorder.Record(start, start + Ticks(40), start + Ticks(51), Ok());                                  // late: 51 ms from the intended send, 11 ms service
        recorder.Record(start, start, start + Ticks(2), new RequestOutcome(0, 503, "overloaded", null, null)); // fast, but refused
        recorder.Record(start, start, start + Ticks(3), RequestOutcome.Failure(0, "timeout"));               // no answer
        recorder.Record(start + Ticks(1000), start + Ticks(1000), start + Ticks(1020), Ok());                 // good, second 1
        recorder.Record(start - Ticks(100), start - Ticks(100), start + Ticks(5), Ok());                      // warm-up: not counted

        var summary = recorder.Summarize(_time.GetTimestamp(), stoppedEarly: false);

        Assert.Equal(TimeSpan.FromMilliseconds(50), summary.Slo);
        Assert.Equal(3, summary.WithinSlo);
        Assert.Equal(1.5, summary.Goodput!.Value, 6);       // 3 answers in the 2 s measured
        Assert.Equal(0.5, summary.GoodputShare!.Value, 6);  // of 6 finished
        Assert.Equal([2L, 1L], summary.Timeline.Select(s => s.WithinSlo!.Value));
        Assert.Equal([5L, 1L], summary.Timeline.Select(s => s.Finished));
    }

    [Fact]
    public void Summarize_RefusalsAndAnswers_EachWithItsOwnLatencyAndRetryAfterCounted()
    {
        var start = _time.GetTimestamp();
        var recorder = new LatencyRecorder(_time, start, TimeSpan.FromSeconds(2), ["m"]);
        for (var i = 1; i <= 100; i++)
        {
            recorder.Record(start, start, start + Ticks(100 + i), Ok()); // 2xx: 101..200 ms
            for (var j = 0; j < 10; j++)
            {
                // Ten times as many fast refusals (0.01..1 ms), all with Retry-After but the first ten.
                recorder.Record(start, start + Ticks(i / 200.0), start + Ticks(i / 100.0), new RequestOutcome(0, 503, "overloaded", null, null, RetryAfter: i > 1)); // sent late by half
            }
        }

        recorder.Record(start, start, start + Ticks(900), new RequestOutcome(0, 429, "rate limited", null, null, RetryAfter: true)); // a slow refusal
        recorder.Record(start, start, start + Ticks(2), new RequestOutcome(0, 400, "bad input", null, null));                       // neither
        recorder.Record(start + Ticks(1000), start + Ticks(1000), start + Ticks(1007), Ok());                                      // second 1

        var summary = recorder.Summarize(_time.GetTimestamp(), stoppedEarly: false);

        Assert.Equal(101, summary.SuccessLatency!.Count);
        Assert.Equal(199, summary.SuccessLatency.PercentileMs(99), 0);
        Assert.Equal(1001, summary.RefusalLatency!.Count);
        Assert.Equal(1, summary.RefusalLatency.PercentileMs(99), 1);   // the refusals' own p99, not the answers'
        Assert.Equal(900, summary.RefusalLatency.MaxMs, 0);
        Assert.Equal(1001, summary.RefusalServiceTime!.Count);
        Assert.Equal(0.5, summary.RefusalServiceTime.PercentileMs(99), 1); // from the actual send: the tool's lateness left out
        Assert.Equal(900, summary.RefusalServiceTime.MaxMs, 0);
        Assert.Equal(1001, summary.Refusals);
        Assert.Equal(991, summary.RefusalsWithRetryAfter);               // all but the first ten 503s
        Assert.Equal(199, summary.Timeline[0].P99SuccessMs, 0);          // the 2xx of second 0 alone
        Assert.Equal(190, summary.Timeline[0].P99Ms, 0);                 // which the fast refusals pull down over all responses
        Assert.Equal(7, summary.Timeline[1].P99SuccessMs, 1);
    }

    [Fact]
    public void Summarize_WithoutSlo_GoodputIsNotReported()
    {
        var start = _time.GetTimestamp();
        var recorder = new LatencyRecorder(_time, start, TimeSpan.FromSeconds(1), ["m"]);
        recorder.Record(start, start, start + Ticks(10), Ok());

        var summary = recorder.Summarize(_time.GetTimestamp(), stoppedEarly: false);

        Assert.Null(summary.Slo);
        Assert.Null(summary.WithinSlo);
        Assert.Null(summary.Goodput);
        Assert.All(summary.Timeline, s => Assert.Null(s.WithinSlo));
    }

    private long Ticks(double ms) => (long)(ms / 1000 * _time.TimestampFrequency);

    private static RequestOutcome Ok() => new(0, 200, null, null, null);

    // One response at each whole millisecond from 1 to 1000 ms.
    private RunSummary OneToThousandMs()
    {
        var start = _time.GetTimestamp();
        var recorder = new LatencyRecorder(_time, start, TimeSpan.FromSeconds(1), ["m"]);
        for (var ms = 1; ms <= 1000; ms++)
        {
            recorder.Record(start, start, start + Ticks(ms), Ok());
        }

        return recorder.Summarize(_time.GetTimestamp(), stoppedEarly: false);
    }
}
