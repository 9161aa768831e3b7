using System.Text;
using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Drift;

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
    public void Parse_DeviceIdOverPbtxtGpus_EveryInstanceOnThatDevice()
    {
        var pbtxt = ModelConfigReader.Baseline(Defaults) with { Instances = 4, DeviceId = 0, Gpus = [0, 1, 0, 1] };

        var config = ModelConfigReader.Parse(Encoding.UTF8.GetBytes("""{"device_id": 2}"""), pbtxt);
        var untouched = ModelConfigReader.Parse(Encoding.UTF8.GetBytes("""{"instances": 4}"""), pbtxt);

        Assert.Equal((2, 0), (config.DeviceId, config.Gpus.Length));
        Assert.Equal([0, 1, 0, 1], untouched.Gpus);
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

    [Fact]
    public void Parse_Drift_OffByDefaultAndEveryKeyRead()
    {
        Assert.Equal(DriftSettings.Disabled, Parse("{}").Drift);
        Assert.False(Parse("{}").Drift.Enabled);

        var drift = Parse("""{"drift": {"enable": true, "sample_ratio": 0.25, "window": 500, "threshold": 0.2}}""").Drift;

        Assert.Equal(new DriftSettings(true, 0.25, 500, 0.2), drift);
        Assert.Equal(new DriftSettings(true, 0.1, 1000, 0.1), Parse("""{"drift": {"enable": true}}""").Drift);
    }

    [Fact]
    public void Parse_DriftInvalid_ListsEveryError()
    {
        var ex = Assert.Throws<InvalidDataException>(() => Parse("""
            {"drift": {"enable": "yes", "sample_ratio": 0, "window": 10, "threshold": -1, "windw": 3}}
            """));

        Assert.Contains("\"drift\": \"enable\" must be true or false", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"drift\": \"sample_ratio\" must be a number above 0, at most 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"drift\": \"window\" must be an integer from 100 to 1000000", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"drift\": \"threshold\" must be a number above 0, at most 10", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"drift\": unknown key \"windw\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"drift\" must be an object", Assert.Throws<InvalidDataException>(() => Parse("""{"drift": true}""")).Message, StringComparison.Ordinal);
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
