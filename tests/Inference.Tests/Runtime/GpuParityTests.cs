using Microsoft.Extensions.Logging.Abstractions;
using ServingGateway.Inference.Runtime;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Runtime;

/// <summary>
/// GPU tests (trait Category=GPU; scripts/gpu-check.sh runs them on a GPU machine): CUDA outputs against CPU
/// outputs, relative error below <see cref="ExecutorParity.Tolerance"/>, batch 1 to 32. Skipped, with the load
/// error as the reason, where CUDA cannot run (a CPU build, or no device or CUDA libraries).
/// </summary>
[Trait("Category", "GPU")]
public sealed class GpuParityTests
{
    [SkippableTheory]
    [InlineData("mlp")]
    [InlineData("minilm")]
    [InlineData("resnet18_dynamic")]
    public void Run_CudaAgainstCpu_RelativeErrorBelowTolerance(string model)
    {
        Skip.If(CudaProbe.WhyNot is not null, $"no CUDA here: {CudaProbe.WhyNot}");
        Skip.IfNot(File.Exists(RepoPaths.ExampleModel(model)), "the real models are fetched by models/fetch.sh");
        var counters = new RuntimeCounters();
        var factory = new OnnxSessionFactory(NullLogger<OnnxSessionFactory>.Instance);
        var cpu = factory.CreateExecutors(RepoPaths.ExampleModel(model), new SessionSettings(ExecutionProviderKind.Cpu, 0, 0, 1), 1, null, 32, counters);
        var cuda = factory.CreateExecutors(RepoPaths.ExampleModel(model), new SessionSettings(ExecutionProviderKind.Cuda, 0, 1, 1), 1, null, 32, counters);
        try
        {
            Assert.Equal("cuda", cuda.Provider);
            Assert.IsType<CudaModelInstance>(cuda.Executors[0]);
            var worst = new List<string>();
            for (var batch = 1; batch <= 32; batch++)
            {
                var inputs = ExecutorParity.Inputs(cpu.Signature, batch, sequence: 16, seed: batch);
                var expected = ExecutorParity.Run(cpu.Executors[0], cpu.Signature, inputs, batch);
                var actual = ExecutorParity.Run(cuda.Executors[0], cuda.Signature, inputs, batch);
                for (var o = 0; o < expected.Length; o++)
                {
                    var error = ExecutorParity.RelativeError(actual[o], expected[o]);
                    if (!(error < ExecutorParity.Tolerance))
                    {
                        worst.Add($"batch {batch} output {expected[o].Name}: {error:G3}");
                    }
                }

                ExecutorParity.DisposeAll(inputs.Concat(expected).Concat(actual));
            }

            Assert.True(worst.Count == 0, $"{model}: relative error >= {ExecutorParity.Tolerance} at " + string.Join("; ", worst));
        }
        finally
        {
            cpu.Executors[0].Dispose();
            cuda.Executors[0].Dispose();
        }
    }
}
