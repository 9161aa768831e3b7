using Microsoft.Extensions.Logging;
using ServingGateway.Inference.Runtime;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Runtime;

/// <summary>Where a version's sessions run when CUDA cannot (this machine), and which device each instance takes.</summary>
public sealed class OnnxSessionFactoryTests
{
    [SkippableFact]
    public void CreateExecutors_AutoWithoutCuda_ServesOnCpuWithOneWarning()
    {
        Skip.If(CudaProbe.WhyNot is null, "CUDA runs here: auto takes it");
        var logger = new Logger();
        var factory = new OnnxSessionFactory(logger);
        var counters = new RuntimeCounters();
        var settings = new SessionSettings(ExecutionProviderKind.Auto, 0, 1, 1);

        var first = factory.CreateExecutors(RepoPaths.ExampleModel("mlp"), settings, 2, null, 32, counters);
        var second = factory.CreateExecutors(RepoPaths.ExampleModel("mlp"), settings, 1, null, 32, counters);
        var inputs = ExecutorParity.Inputs(first.Signature, 3, sequence: 1, seed: 1);
        var outputs = ExecutorParity.Run(first.Executors[1], first.Signature, inputs, 3);

        Assert.Equal(("cpu", "cpu"), (first.Provider, second.Provider));
        Assert.All(first.Executors.Concat(second.Executors), e => Assert.IsType<OnnxModelInstance>(e));
        Assert.Equal([3L, 10L], Assert.Single(outputs).Shape);
        var warning = Assert.Single(logger.Entries);
        Assert.Equal((LogLevel.Warning, 1), (warning.Level, warning.EventId));
        Assert.Contains("run on CPU", warning.Text, StringComparison.Ordinal);
        ExecutorParity.DisposeAll(inputs.Concat(outputs));
        foreach (var executor in first.Executors.Concat(second.Executors))
        {
            executor.Dispose();
        }

        Assert.Equal(0, counters.LiveSessions);
    }

    [SkippableFact]
    public void CreateExecutors_CudaWithoutCuda_FailsWithTheReasonAndLeavesNoSession()
    {
        Skip.If(CudaProbe.WhyNot is null, "CUDA runs here: cuda loads");
        var counters = new RuntimeCounters();
        var factory = new OnnxSessionFactory(new Logger());

        var error = Assert.Throws<InvalidDataException>(() => factory.CreateExecutors(
            RepoPaths.ExampleModel("mlp"), new SessionSettings(ExecutionProviderKind.Cuda, 0, 1, 1), 2, null, 32, counters));

        Assert.StartsWith("execution_provider is cuda but CUDA is not available: ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("; use auto or cpu to run on CPU", error.Message, StringComparison.Ordinal);
#if !ORT_GPU
        Assert.Contains("this build has the CPU ONNX Runtime (build with -p:OrtGpu=true for CUDA)", error.Message, StringComparison.Ordinal);
#endif
        Assert.Equal(0, counters.LiveSessions);
    }

    [Theory]
    [InlineData(new int[0], 3, new[] { 3, 3, 3, 3 })]
    [InlineData(new[] { 0, 1 }, 0, new[] { 0, 1, 0, 1 })]
    [InlineData(new[] { 2, 2, 5 }, 0, new[] { 2, 2, 5, 2 })]
    public void DeviceOf_ListedGpus_InstancesTakeThemInTurn(int[] gpus, int deviceId, int[] expected)
    {
        var settings = new SessionSettings(ExecutionProviderKind.Cuda, deviceId, 1, 1, gpus);

        Assert.Equal(expected, Enumerable.Range(0, 4).Select(settings.DeviceOf));
    }

    [Fact]
    public void CudaProviderOptions_SearchCopyStreamAndDevice_AsDocumented()
    {
        var options = OnnxSessionFactory.CudaProviderOptions(3);
        var documented = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "GPU.md"));

        Assert.Equal("3", options["device_id"]);
        foreach (var (key, value) in options.Where(o => o.Key != "device_id"))
        {
            Assert.Contains($"`{key}` | `{value}`", documented, StringComparison.Ordinal);
        }
    }

    private sealed class Logger : ILogger<OnnxSessionFactory>
    {
        public List<(LogLevel Level, int EventId, string Text)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries)
            {
                Entries.Add((logLevel, eventId.Id, formatter(state, exception)));
            }
        }
    }
}
