using System.Text;
using ServingGateway.Inference.Catalog;

namespace ServingGateway.Inference.Tests.Catalog;

public class ModelConfigReaderTests
{
    private static readonly InferenceOptions Defaults = new();

    private static ModelConfig Parse(string json) => ModelConfigReader.Parse(Encoding.UTF8.GetBytes(json), Defaults);

    [Fact]
    public void Parse_EveryKey_IsRead()
    {
        var config = Parse("""
            {
              // comments are allowed
              "max_batch_size": 16,
              "instances": 3,
              "execution_provider": "cuda",
              "device_id": 1,
              "intra_op_threads": 2,
              "inter_op_threads": 0,
              "version_policy": {"specific": {"versions": [1, 3]}},
            }
            """);

        Assert.Equal(16, config.MaxBatchSize);
        Assert.Equal(3, config.Instances);
        Assert.Equal(ExecutionProviderKind.Cuda, config.ExecutionProvider);
        Assert.Equal(1, config.DeviceId);
        Assert.Equal(2, config.IntraOpThreads);
        Assert.Equal(0, config.InterOpThreads);
        Assert.Equal([3L, 1L], config.VersionPolicy.Select([1, 2, 3]));
    }

    [Fact]
    public void Parse_EmptyObject_TakesNodeDefaults()
    {
        var config = Parse("{}");

        Assert.Null(config.MaxBatchSize);
        Assert.Equal(Defaults.DefaultInstances, config.Instances);
        Assert.Equal(Defaults.DefaultExecutionProvider, config.ExecutionProvider);
        Assert.Equal(Defaults.DefaultIntraOpThreads, config.IntraOpThreads);
        Assert.Equal([3L], config.VersionPolicy.Select([1, 3, 2]));
    }

    [Fact]
    public void Parse_MaxQueueMb_ReadOrDefaultedAndBounded()
    {
        Assert.Equal(ModelConfig.DefaultMaxQueueMb, Parse("{}").MaxQueueMb);
        Assert.Equal(256, ModelConfig.DefaultMaxQueueMb);
        Assert.Equal(3, Parse("""{"max_queue_mb": 3}""").MaxQueueMb);

        var ex = Assert.Throws<InvalidDataException>(() => Parse("""{"max_queue_mb": 0}"""));

        Assert.Contains("\"max_queue_mb\" must be an integer from 1 to 1048576", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SeveralErrors_ListsThemAll()
    {
        var ex = Assert.Throws<InvalidDataException>(() => Parse("""
            {"max_batch_size": -1, "instances": 0, "execution_provider": "tpu", "max_batch": 3, "version_policy": {"latest": {}}}
            """));

        Assert.Contains("\"max_batch_size\" must be an integer from 0 to 1024", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"instances\" must be an integer from 1 to 64", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"execution_provider\" must be", ex.Message, StringComparison.Ordinal);
        Assert.Contains("unknown key \"max_batch\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"num_versions\"", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]", "must hold a JSON object")]
    [InlineData("{", "not valid JSON")]
    [InlineData("""{"version_policy": {"all": {}, "latest": {"num_versions": 1}}}""", "\"version_policy\" must be")]
    [InlineData("""{"version_policy": {"specific": {"versions": []}}}""", "non-empty array")]
    [InlineData("""{"instances": 1.5}""", "\"instances\" must be an integer")]
    public void Parse_Invalid_SaysWhy(string json, string expected)
    {
        var ex = Assert.Throws<InvalidDataException>(() => Parse(json));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Overload_EveryKeyReadAndDeadlineByDefault()
    {
        var config = Parse("""{"overload": {"policy": "codel", "slo_factor": 3.5, "codel_target_ms": 10, "codel_interval_ms": 200}}""");

        Assert.Equal(new OverloadSettings(Batching.OverloadPolicy.CoDel, 3.5, 10, 200), config.Overload);
        Assert.Equal(Batching.OverloadPolicy.Deadline, Parse("""{"overload": {"policy": "deadline"}}""").Overload.Policy);
        Assert.Equal(Batching.OverloadPolicy.Queue, Parse("""{"overload": {"policy": "queue"}}""").Overload.Policy);
        Assert.Equal(OverloadSettings.Default, Parse("{}").Overload);
        Assert.Equal(Batching.OverloadPolicy.Deadline, OverloadSettings.Default.Policy);
    }

    [Fact]
    public void Parse_LatencySloMs_SetOnlyWhenNamed()
    {
        // The deadline policy gives requests without a timeout a deadline only from an SLO the model named.
        Assert.False(Parse("{}").LatencySloSet);
        Assert.Equal(50, Parse("{}").LatencySloMs);
        Assert.True(Parse("""{"latency_slo_ms": 50}""").LatencySloSet);
    }

    [Theory]
    [InlineData("""{"overload": "deadline"}""", "\"overload\" must be an object")]
    [InlineData("""{"overload": {"policy": "shed"}}""", "\"policy\" must be \"queue\", \"deadline\" or \"codel\"")]
    [InlineData("""{"overload": {"slo_factor": 0.5}}""", "\"slo_factor\" must be a number from 1 to 100")]
    [InlineData("""{"overload": {"codel_target_ms": 0}}""", "\"codel_target_ms\" must be a number of milliseconds")]
    [InlineData("""{"overload": {"policy": "deadline", "factor": 2}}""", "\"overload\": unknown key \"factor\"")]
    public void Parse_OverloadInvalid_SaysWhy(string json, string expected)
    {
        var ex = Assert.Throws<InvalidDataException>(() => Parse(json));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VersionPolicy_LatestAndAll_SelectHighestFirst()
    {
        Assert.Equal([5L, 4L], VersionPolicy.LatestN(2).Select([1, 5, 4, 2]));
        Assert.Equal([5L, 4L, 2L, 1L], VersionPolicy.All.Select([1, 5, 4, 2]));
        Assert.Equal([9L, 1L], VersionPolicy.Of([1, 9, 1]).Select([1, 2]));
    }
}
