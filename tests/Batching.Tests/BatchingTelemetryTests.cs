using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.TestSupport;

namespace ServingGateway.Batching.Tests;

/// <summary>
/// The batcher's spans (issue 15 item 1): a queue wait per traced request, from its queueing to its batch's start, and
/// one batch run per batch that carried a traced request, a child of the first and linked to each. Listens to
/// <see cref="BatchingTelemetry.SourceName"/> only, recording everything.
/// </summary>
public sealed class BatchingTelemetryTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    private readonly List<Activity> _stopped = [];
    private readonly ActivityListener _listener;

    public BatchingTelemetryTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == BatchingTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (_stopped)
                {
                    _stopped.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public void StartBatch_TwoOfThreeRequestsTraced_QueueWaitsForThoseAndOneBatchRunLinkedToBoth()
    {
        var first = Traced();
        var second = Traced();
        var queuedAt = _time.GetTimestamp();
        var batch = new[] { Entry(default, queuedAt), Entry(first, queuedAt), Entry(second, queuedAt + _time.TimestampFrequency / 100) };
        _time.Advance(TimeSpan.FromMilliseconds(30));

        using (var run = BatchingTelemetry.StartBatch(batch, instance: 1, _time.GetTimestamp(), _time))
        {
            Assert.NotNull(run);
            Assert.Equal("batch run", run.OperationName);
            Assert.Equal(first.TraceId, run.TraceId);
            Assert.Equal(first.SpanId, run.ParentSpanId);
            Assert.Equal([first, second], run.Links.Select(l => l.Context));
            Assert.Equal(3, run.GetTagItem("batch.requests"));
            Assert.Equal(3, run.GetTagItem("batch.rows"));
            Assert.Equal(1, run.GetTagItem("batch.instance"));
        }

        var waits = Stopped("queue wait");
        Assert.Equal([first.SpanId, second.SpanId], waits.Select(w => w.ParentSpanId));
        Assert.Equal([TimeSpan.FromMilliseconds(30), TimeSpan.FromMilliseconds(20)], waits.Select(w => w.Duration));
        Assert.All(waits, w => Assert.Equal(_time.GetUtcNow().UtcDateTime, w.StartTimeUtc + w.Duration));
    }

    [Fact]
    public void StartBatch_NoRequestTraced_StartsNothing()
    {
        var batch = new[] { Entry(default, _time.GetTimestamp()), Entry(default, _time.GetTimestamp()) };

        Assert.Null(BatchingTelemetry.StartBatch(batch, instance: 0, _time.GetTimestamp(), _time));
        Assert.Empty(Stopped("queue wait"));
    }

    [Fact]
    public void CallerContext_SampledOrNotOrNone_OnlyASampledCallerIsLinked()
    {
        Assert.Equal(default, BatchingTelemetry.CallerContext());

        using var source = new ActivitySource("BatchingTelemetryTests.Caller");
        using var listener = PropagatingListener.Listen(source, options => options.Name == "sampled");
        using (var sampled = source.StartActivity("sampled"))
        {
            Assert.Equal(sampled!.Context, BatchingTelemetry.CallerContext());
        }

        using (source.StartActivity("not sampled"))
        {
            Assert.Equal(default, BatchingTelemetry.CallerContext());
        }
    }

    private static ActivityContext Traced() => new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);

    private static BatchEntry<string, int> Entry(ActivityContext trace, long queuedAt) =>
        new("request", 1, "key", 0, queuedAt, long.MaxValue, CancellationToken.None) { Trace = trace };

    private List<Activity> Stopped(string name)
    {
        lock (_stopped)
        {
            return [.. _stopped.Where(a => a.OperationName == name)];
        }
    }
}
