using ServingGateway.Batching;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Tests.Catalog;

public sealed class TritonConfigReaderTests : IDisposable
{
    private static readonly InferenceOptions Defaults = new();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-pbtxt-" + Guid.NewGuid().ToString("N"), "mlp");

    public TritonConfigReaderTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_dir)!, recursive: true);

    private static ModelConfig Parse(string text, List<string>? ignored = null) =>
        TritonConfigReader.Parse(text, "mlp", ModelConfigReader.Baseline(Defaults), (field, line, column) => ignored?.Add($"{field}@{line}:{column}"));

    private const string EveryField = """
        # Every field this server maps, as Triton's examples write them.
        name: "mlp"
        platform: "onnxruntime_onnx"
        backend: "onnxruntime"
        max_batch_size: 8
        input [
          {
            name: "input"
            data_type: TYPE_FP32
            dims: [ 64 ]
          }
        ]
        output [
          {
            name: "output"
            data_type: TYPE_FP32
            dims: [ -1 ]
          }
        ]
        dynamic_batching {
          preferred_batch_size: [ 4, 8 ]
          max_queue_delay_microseconds: 2500
          priority_levels: 3
          default_priority_level: 2
          default_queue_policy {
            timeout_action: DELAY
            default_timeout_microseconds: 700
            allow_timeout_override: false
            max_queue_size: 16
          }
        }
        instance_group [ { count: 2, kind: KIND_GPU, gpus: [ 1 ] } ]
        version_policy: { specific: { versions: [ 1, 3 ] } }
        response_cache { enable: true }
        """;

    [Fact]
    public void Parse_EveryField_IsMapped()
    {
        var config = Parse(EveryField);

        Assert.Equal(8, config.MaxBatchSize);
        Assert.Equal([new TensorDeclaration("input", TensorDataType.Fp32, [64], 6)], config.Inputs, DeclarationComparer.Instance);
        Assert.Equal([new TensorDeclaration("output", TensorDataType.Fp32, [-1], 13)], config.Outputs, DeclarationComparer.Instance);
        Assert.Equal(BatchingMode.Fixed, config.Batching);
        Assert.Equal([4, 8], config.PreferredBatchSizes);
        Assert.Equal(2.5, config.MaxQueueDelayMs);
        Assert.Equal(3, config.PriorityLevels);
        Assert.Equal(2, config.DefaultPriorityLevel);
        Assert.Equal(new QueuePolicy(QueueTimeoutAction.Delay, 700, false), config.QueuePolicy);
        Assert.Equal(16, config.MaxQueueRows);
        Assert.Equal(2, config.Instances);
        Assert.Equal(ExecutionProviderKind.Cuda, config.ExecutionProvider);
        Assert.Equal(1, config.DeviceId);
        Assert.Equal([3L, 1L], config.VersionPolicy.Select([1, 2, 3]));
        Assert.True(config.Cache.Enabled);
    }

    [Fact]
    public void Parse_MinimalFile_KeepsTheDefaults()
    {
        var config = Parse("name: \"mlp\"");

        Assert.Equal(ModelConfigReader.Baseline(Defaults), config);
    }

    [Theory]
    [InlineData("instance_group { kind: KIND_CPU }", ExecutionProviderKind.Cpu, 1, 0)]
    [InlineData("instance_group { kind: KIND_AUTO count: 3 }", ExecutionProviderKind.Auto, 3, 0)]
    [InlineData("instance_group [{ kind: KIND_GPU count: 2 gpus: [0, 1] }, { kind: KIND_GPU }]", ExecutionProviderKind.Cuda, 5, 0)]
    public void Parse_InstanceGroups_CountKindAndDevice(string text, ExecutionProviderKind kind, int instances, int device)
    {
        var config = Parse(text);

        Assert.Equal((kind, instances, device), (config.ExecutionProvider, config.Instances, config.DeviceId));
    }

    [Theory]
    [InlineData("instance_group [{ kind: KIND_GPU count: 2 gpus: [0, 1] }, { kind: KIND_GPU gpus: [3] }]", new[] { 0, 1, 0, 1, 3 })]
    [InlineData("instance_group { count: 3 gpus: [2] }", new[] { 2, 2, 2 })]
    [InlineData("instance_group [{ kind: KIND_GPU count: 2 gpus: [1] }, { kind: KIND_GPU }]", new int[0])]
    [InlineData("instance_group { count: 2 }", new int[0])]
    public void Parse_InstanceGroupGpus_InstancesTakeTheListedGpusInTurn(string text, int[] gpus)
    {
        var config = Parse(text);

        Assert.Equal(gpus, config.Gpus);
        Assert.True(gpus.Length == 0 || gpus.Length == config.Instances, $"{gpus.Length} devices for {config.Instances} instances");
    }

    [Theory]
    [InlineData("version_policy { latest { num_versions: 2 } }", new long[] { 3, 2 })]
    [InlineData("version_policy { all { } }", new long[] { 3, 2, 1 })]
    [InlineData("version_policy: { all: {} }", new long[] { 3, 2, 1 })]
    [InlineData("version_policy { specific { versions: 2 versions: 7 } }", new long[] { 7, 2 })]
    public void Parse_VersionPolicy_EachKind(string text, long[] selected)
    {
        Assert.Equal(selected, Parse(text).VersionPolicy.Select([1, 2, 3]));
    }

    [Fact]
    public void Parse_MaxBatchSizeWithoutDynamicBatching_RunsRequestsAsSent()
    {
        Assert.Equal(BatchingMode.Off, Parse("max_batch_size: 4").Batching);
        Assert.Equal(BatchingMode.Fixed, Parse("max_batch_size: 4 dynamic_batching { }").Batching);
        Assert.Equal(0, Parse("max_batch_size: 4 dynamic_batching { }").MaxQueueDelayMs);
        Assert.Equal(BatchingMode.Adaptive, Parse("name: \"mlp\"").Batching);
    }

    [Fact]
    public void Parse_QueueAndPriorityZeros_MeanTritonsDefaults()
    {
        var config = Parse("dynamic_batching { priority_levels: 0 default_queue_policy { max_queue_size: 0 } }");

        Assert.Equal((1, 1, 1_048_576), (config.PriorityLevels, config.DefaultPriorityLevel, config.MaxQueueRows));
        Assert.Equal(QueuePolicy.Default, config.QueuePolicy);
        Assert.Equal(4, Parse("dynamic_batching { priority_levels: 4 }").DefaultPriorityLevel);
    }

    [Fact]
    public void Parse_FieldsNotUsed_AreReportedWithTheirPathAndIgnored()
    {
        var ignored = new List<string>();

        var config = Parse("""
            name: "mlp"
            optimization { execution_accelerators { gpu_execution_accelerator: [ { name: "tensorrt" } ] } }
            input [ { name: "input" data_type: TYPE_FP32 format: FORMAT_NCHW dims: [ 64 ] reshape: { shape: [ 8, 8 ] } } ]
            dynamic_batching { preserve_ordering: true default_queue_policy { future_field: 1 } }
            instance_group { name: "g" count: 1 kind: KIND_CPU }
            """, ignored);

        Assert.Equal(["optimization@2:1", "input.format@3:46", "input.reshape@3:79", "dynamic_batching.preserve_ordering@4:20",
            "dynamic_batching.default_queue_policy.future_field@4:67", "instance_group.name@5:18"], ignored);
        Assert.Equal(BatchingMode.Fixed, config.Batching);
        Assert.Single(config.Inputs);
    }

    [Theory]
    [InlineData("name: \"other\"", 1, 7, "is not the model's folder name \"mlp\"")]
    [InlineData("platform: \"tensorrt_plan\"", 1, 11, "platform \"tensorrt_plan\" is not supported")]
    [InlineData("backend: \"python\"", 1, 10, "backend \"python\" is not supported")]
    [InlineData("\nmax_batch_size: 2000", 2, 17, "max_batch_size must be an integer from 0 to 1024")]
    [InlineData("max_batch_size: \"8\"", 1, 17, "max_batch_size must be an integer")]
    [InlineData("max_batch_size: 1.5", 1, 17, "max_batch_size must be an integer")]
    [InlineData("max_batch_size: 4\nmax_batch_size: 8", 2, 17, "max_batch_size is given more than once")]
    [InlineData("input { name: \"x\" data_type: TYPE_FLOAT }", 1, 30, "data_type must be one of TYPE_BOOL")]
    [InlineData("input { data_type: TYPE_FP32 }", 1, 7, "every input needs a name")]
    [InlineData("output { name: \"y\" }", 1, 8, "output \"y\" needs a data_type")]
    [InlineData("input { name: \"x\" data_type: TYPE_FP32 }\ninput { name: \"x\" data_type: TYPE_FP32 }", 2, 7, "input \"x\" is declared twice")]
    [InlineData("input: 3", 1, 8, "input must be a message")]
    [InlineData("dynamic_batching { max_queue_delay_microseconds: 20000000 }", 1, 50, "from 0 to 10000000")]
    [InlineData("dynamic_batching {\n priority_levels: 2\n default_priority_level: 3 }", 1, 18, "default_priority_level (3) must not exceed priority_levels (2)")]
    [InlineData("max_batch_size: 4\ndynamic_batching { preferred_batch_size: [ 8 ] }", 0, 0, "preferred_batch_size must not exceed max_batch_size (4)")]
    [InlineData("dynamic_batching { default_queue_policy { timeout_action: DROP } }", 1, 59, "timeout_action must be REJECT or DELAY")]
    [InlineData("dynamic_batching { default_queue_policy { allow_timeout_override: yes } }", 1, 67, "allow_timeout_override must be true or false")]
    [InlineData("instance_group { kind: KIND_TPU }", 1, 24, "kind must be KIND_AUTO, KIND_CPU or KIND_GPU")]
    [InlineData("instance_group { kind: KIND_CPU gpus: [0] }", 1, 16, "KIND_CPU must not list gpus")]
    [InlineData("instance_group { kind: KIND_CPU }\ninstance_group { kind: KIND_GPU }", 2, 16, "the same kind")]
    [InlineData("instance_group { count: 0 }", 1, 25, "count must be an integer from 1 to 64")]
    [InlineData("instance_group { count: 40 gpus: [0, 1] }", 1, 16, "asks for 80 instances")]
    [InlineData("version_policy { latest { } }", 1, 25, "latest needs num_versions")]
    [InlineData("version_policy { specific { } }", 1, 27, "specific needs versions")]
    [InlineData("version_policy { newest { } }", 1, 25, "has no kind 'newest'")]
    [InlineData("version_policy { all { } latest { num_versions: 1 } }", 1, 16, "exactly one of")]
    [InlineData("response_cache { enable: maybe }", 1, 26, "enable must be true or false")]
    public void Parse_InvalidValue_SaysLineColumnAndWhy(string text, int line, int column, string expected)
    {
        var ex = Assert.Throws<InvalidDataException>(() => Parse(text));

        Assert.StartsWith("config.pbtxt: ", ex.Message, StringComparison.Ordinal);
        if (line > 0)
        {
            Assert.Contains($"line {line}, column {column}: ", ex.Message, StringComparison.Ordinal);
        }

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SeveralBadValues_ListsThemAll()
    {
        var ex = Assert.Throws<InvalidDataException>(() => Parse("max_batch_size: -1\ninstance_group { count: 0 }\nresponse_cache { enable: 2 }"));

        Assert.Contains("line 1, column 17", ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 2, column 25", ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 3, column 26", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SyntaxError_NamesTheFileLineAndColumn()
    {
        var ex = Assert.Throws<InvalidDataException>(() => Parse("name: \"mlp\"\ndynamic_batching {\n  max_queue_delay_microseconds 100\n}"));

        Assert.Equal("config.pbtxt: line 3, column 32: expected ':' or '{' after field name 'max_queue_delay_microseconds', found '100'", ex.Message);
    }

    [Fact]
    public void Read_ConfigJsonBesidePbtxt_JsonKeysWin()
    {
        File.WriteAllText(Path.Combine(_dir, "config.pbtxt"), EveryField);
        File.WriteAllText(Path.Combine(_dir, "config.json"), """
            {"max_batch_size": 16, "instances": 1, "execution_provider": "cpu", "batching": "adaptive",
             "preferred_batch_sizes": [16], "priority_levels": 4, "cache": {"ttl_seconds": 60}}
            """);

        var config = ModelConfigReader.Read(_dir, Defaults);

        // config.json's keys...
        Assert.Equal((16, 1, ExecutionProviderKind.Cpu, BatchingMode.Adaptive), (config.MaxBatchSize, config.Instances, config.ExecutionProvider, config.Batching));
        Assert.Equal([16], config.PreferredBatchSizes);
        Assert.Equal((4, 4), (config.PriorityLevels, config.DefaultPriorityLevel));
        Assert.Equal(new CachePolicy(true, TimeSpan.FromSeconds(60), CacheAdmission.Auto), config.Cache);

        // ...over config.pbtxt's where config.json has none.
        Assert.Equal(2.5, config.MaxQueueDelayMs);
        Assert.Equal(16, config.MaxQueueRows);
        Assert.Equal(1, config.DeviceId);
        Assert.Equal(new QueuePolicy(QueueTimeoutAction.Delay, 700, false), config.QueuePolicy);
        Assert.Equal([3L, 1L], config.VersionPolicy.Select([1, 2, 3]));
        Assert.Single(config.Inputs);
        Assert.Contains("config.pbtxt", config.SourceText, StringComparison.Ordinal);
        Assert.Contains("config.json", config.SourceText, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_JsonBreaksARuleWithPbtxtValues_IsRefused()
    {
        File.WriteAllText(Path.Combine(_dir, "config.pbtxt"), "dynamic_batching { preferred_batch_size: [ 8 ] }");
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"max_batch_size": 4}""");

        var ex = Assert.Throws<InvalidDataException>(() => ModelConfigReader.Read(_dir, Defaults));

        Assert.Contains("\"preferred_batch_sizes\" must not exceed \"max_batch_size\" (4)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IgnoredFieldLog_SameFieldTwiceAndOnReload_LogsOnce()
    {
        var logger = new ListLogger();
        var log = new IgnoredFieldLog(logger);

        log.Report("mlp", "optimization", 2, 1);
        log.Report("mlp", "optimization", 9, 1);
        log.Report("mlp", "model_warmup", 3, 1);
        log.Report("other", "optimization", 2, 1);

        Assert.Equal(3, logger.Entries.Count);
        Assert.Contains("Model mlp: ignoring field optimization of config.pbtxt (line 2, column 1)", logger.Entries[0].Text, StringComparison.Ordinal);
        Assert.All(logger.Entries, e => Assert.Equal(70, e.EventId));
    }

    private sealed class DeclarationComparer : IEqualityComparer<TensorDeclaration>
    {
        public static DeclarationComparer Instance { get; } = new();

        public bool Equals(TensorDeclaration? x, TensorDeclaration? y) =>
            x is not null && y is not null && x.Name == y.Name && x.DataType == y.DataType && x.Dims.SequenceEqual(y.Dims) && x.Line == y.Line;

        public int GetHashCode(TensorDeclaration obj) => obj.Name.GetHashCode(StringComparison.Ordinal);
    }
}
