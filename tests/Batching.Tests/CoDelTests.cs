using Microsoft.Extensions.Time.Testing;

namespace ServingGateway.Batching.Tests;

/// <summary>CoDel on the scheduler, on a fake clock: a standing queue is shed, a burst that drains is not.</summary>
public sealed class CoDelTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly List<BatchEntry<string, int>[]> _dispatch = [];
    private readonly List<BatchEntry<string, int>> _dropped = [];
    private readonly BatchScheduler<string, int> _scheduler;

    public CoDelTests()
    {
        _scheduler = new(new BatchingOptions
        {
            MaxBatchRows = 1, Instances = 1, Mode = BatchingMode.Off, Overload = OverloadPolicy.CoDel,
            CoDelTarget = TimeSpan.FromMilliseconds(25), CoDelInterval = TimeSpan.FromMilliseconds(100),
        }, _time.TimestampFrequency);
    }

    private void Add(string name) =>
        _scheduler.Add(new BatchEntry<string, int>(name, 1, "k", 0, _time.GetTimestamp(), long.MaxValue, CancellationToken.None), _time.GetTimestamp());

    private void Schedule()
    {
        _dispatch.Clear();
        _scheduler.Schedule(_time.GetTimestamp(), _dispatch, _dropped);
    }

    [Fact]
    public void Schedule_QueueNotEmptyForAnInterval_ShedsWhatWaitedPastTheTarget()
    {
        Add("running");
        Schedule(); // takes the only instance, which never comes back
        Assert.Single(_dispatch);

        // One request every 10 ms for 150 ms: the queue never empties again.
        for (var i = 0; i < 15; i++)
        {
            Add($"r{i}");
            _time.Advance(TimeSpan.FromMilliseconds(10));
            Schedule();
            if (i < 9)
            {
                Assert.Empty(_dropped); // less than an interval since it was last empty: a burst, not a standing queue
                Assert.False(_scheduler.Shedding);
            }
        }

        // At 100 ms the queue had stood for an interval: r0..r7 went then, and one more each 10 ms as it passed 25 ms.
        Assert.True(_scheduler.Shedding);
        Assert.Equal(Enumerable.Range(0, 13).Select(i => $"r{i}").Order(), _dropped.Select(e => e.Request).Order());
        Assert.Equal(2, _scheduler.QueuedRequests); // r13 and r14: 20 and 10 ms old
    }

    [Fact]
    public void Schedule_BurstThatDrainsWithinTheInterval_NothingShed()
    {
        for (var i = 0; i < 5; i++)
        {
            Add($"b{i}");
        }

        // Five requests at once, 20 ms each on one instance: the last waits 80 ms, past the target, but the queue
        // empties within the interval.
        for (var i = 0; i < 5; i++)
        {
            Schedule();
            Assert.Single(_dispatch);
            _time.Advance(TimeSpan.FromMilliseconds(20));
            _scheduler.Release(1, (long)(0.02 * _time.TimestampFrequency));
        }

        Assert.Empty(_dropped);
        Assert.Equal(0, _scheduler.QueuedRequests);
    }
}
