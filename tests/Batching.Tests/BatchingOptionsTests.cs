namespace ServingGateway.Batching.Tests;

/// <summary>Every rule of the batcher's options, each error listed at once; a batcher refuses bad options at construction.</summary>
public class BatchingOptionsTests
{
    private static BatchingOptions Bad() => new()
    {
        MaxBatchRows = 0,
        MaxQueueRows = -1,
        MaxQueueBytes = 0,
        Instances = 0,
        LatencySlo = TimeSpan.Zero,
        MaxQueueDelay = TimeSpan.FromMilliseconds(-1),
        PreferredBatchSizes = [0],
        PriorityLevels = 0,
    };

    [Fact]
    public void Validate_EveryRuleBroken_ListsEachError()
    {
        var errors = Bad().Validate().ToList();

        Assert.Equal(
            [
                "max batch rows must be at least 1; it is 0",
                "max_queue_rows (-1) must be at least the batch size (0)",
                "max queue bytes must be at least 1; it is 0",
                "instances must be at least 1; it is 0",
                "latency_slo_ms must be positive",
                "max_queue_delay_ms cannot be negative",
                "preferred_batch_sizes must be from 1 to 0",
                "priority_levels must be at least 1",
            ],
            errors);
    }

    [Fact]
    public void Validate_PreferredSizeAboveTheBatchLimit_IsAnError()
    {
        var errors = new BatchingOptions { MaxBatchRows = 4, PreferredBatchSizes = [2, 5] }.Validate();

        Assert.Equal(["preferred_batch_sizes must be from 1 to 4"], errors);
    }

    [Fact]
    public void Validate_OverloadRulesBroken_ListsEachError()
    {
        var errors = new BatchingOptions { Overload = (OverloadPolicy)7, SloFactor = 0.5, CoDelTarget = TimeSpan.Zero }.Validate();

        Assert.Equal(
            [
                "overload policy must be queue, deadline or codel; it is 7",
                "overload slo_factor must be from 1 to 100; it is 0.5",
                "overload codel_target_ms and codel_interval_ms must be at least 1",
            ],
            errors);
        Assert.Empty(new BatchingOptions { Overload = OverloadPolicy.CoDel, SloFactor = 100, CoDelTarget = TimeSpan.FromMilliseconds(1), CoDelInterval = TimeSpan.FromMilliseconds(1) }.Validate());
        Assert.Single(new BatchingOptions { SloFactor = 100.5 }.Validate());
    }

    [Fact]
    public void Validate_EveryRuleAtItsBound_NoError()
    {
        var options = new BatchingOptions
        {
            MaxBatchRows = 1,
            MaxQueueRows = 1,
            MaxQueueBytes = 1,
            Instances = 1,
            LatencySlo = TimeSpan.FromTicks(1),
            MaxQueueDelay = TimeSpan.Zero,
            PreferredBatchSizes = [1],
            PriorityLevels = 1,
        };

        Assert.Empty(options.Validate());
    }

    [Fact]
    public void Constructor_BadOptions_ThrowsWithEveryError()
    {
        var ex = Assert.Throws<ArgumentException>(() => new DynamicBatcher<string, string>(Bad(), (_, _) => { }, TimeProvider.System));

        Assert.Equal(8, Bad().Validate().Count());
        Assert.All(Bad().Validate(), error => Assert.Contains(error, ex.Message, StringComparison.Ordinal));
    }
}
