using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Runtime;
using ServingGateway.Inference.Tensors;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Runtime;

/// <summary>
/// The CUDA executor's IOBinding logic on this CPU machine: bound over ONNX Runtime's CPU memory instead of the
/// device's pinned memory, it must return what the CPU executor returns (the GPU itself: <see cref="GpuParityTests"/>).
/// </summary>
public sealed class CudaModelInstanceTests
{
    private const string Fetch = "the real models are fetched by models/fetch.sh";

    [SkippableTheory]
    [InlineData("mlp", 1)]
    [InlineData("mlp", 7)]
    [InlineData("minilm", 1)]
    [InlineData("minilm", 5)]
    [InlineData("resnet18_dynamic", 2)]
    public void Run_BoundOverCpuMemory_SameOutputsAsOnnxModelInstance(string model, int batch)
    {
        Skip.IfNot(File.Exists(RepoPaths.ExampleModel(model)), Fetch);
        using var pair = Pair.Create(model);
        var inputs = ExecutorParity.Inputs(pair.Signature, batch, sequence: 9, seed: batch);
        try
        {
            var expected = ExecutorParity.Run(pair.Cpu, pair.Signature, inputs, batch);
            var actual = ExecutorParity.Run(pair.Bound, pair.Signature, inputs, batch);

            Assert.Equal(expected.Length, actual.Length);
            for (var o = 0; o < expected.Length; o++)
            {
                Assert.Equal(expected[o].Shape, actual[o].Shape);
                Assert.True(ExecutorParity.RelativeError(actual[o], expected[o]) <= 1e-6, $"output {o}: relative error {ExecutorParity.RelativeError(actual[o], expected[o])}");
            }

            ExecutorParity.DisposeAll(expected.Concat(actual));
        }
        finally
        {
            ExecutorParity.DisposeAll(inputs);
        }
    }

    [SkippableFact]
    public void Run_SomeOutputsInAnotherOrder_ReturnsThoseAskedInThatOrder()
    {
        Skip.IfNot(File.Exists(RepoPaths.ExampleModel("minilm")), Fetch);
        using var pair = Pair.Create("minilm");
        var inputs = ExecutorParity.Inputs(pair.Signature, 3, sequence: 6, seed: 3);
        try
        {
            var all = ExecutorParity.Run(pair.Cpu, pair.Signature, inputs, 3);
            var reversed = pair.Bound.Run(inputs, [new RequestedOutput(1, false), new RequestedOutput(0, false)], 3);
            var second = pair.Bound.Run(inputs, [new RequestedOutput(1, false)], 3);

            Assert.Equal([pair.Signature.Outputs[1].Name, pair.Signature.Outputs[0].Name], reversed.Select(t => t.Name));
            Assert.Equal(0, ExecutorParity.RelativeError(reversed[0], all[1]));
            Assert.Equal(0, ExecutorParity.RelativeError(reversed[1], all[0]));
            Assert.Equal(0, ExecutorParity.RelativeError(Assert.Single(second), all[1]));
            ExecutorParity.DisposeAll(all.Concat(reversed).Concat(second));
        }
        finally
        {
            ExecutorParity.DisposeAll(inputs);
        }
    }

    [Fact]
    public void Run_LargestBatchFirst_AllocatesHostBuffersOnceAndLeavesNoValue()
    {
        using var pair = Pair.Create("mlp");
        var counters = pair.Counters;
        long? afterLargest = null;
        foreach (var batch in new[] { 32, 1, 7, 32, 3 })
        {
            var inputs = ExecutorParity.Inputs(pair.Signature, batch, sequence: 1, seed: batch);
            ExecutorParity.DisposeAll(ExecutorParity.Run(pair.Bound, pair.Signature, inputs, batch));
            ExecutorParity.DisposeAll(inputs);
            afterLargest ??= pair.Bound.HostBufferBytes;

            Assert.Equal(afterLargest, pair.Bound.HostBufferBytes);
            Assert.Equal(0, counters.LiveValues);
        }

        Assert.Equal((32 * 64 + 32 * 10) * sizeof(float), afterLargest);
    }

    [Fact]
    public void Run_WrongInputShape_BadRequestAndInstanceStillServes()
    {
        using var pair = Pair.Create("mlp");
        using var wrong = PooledTensor.Rent("input", TensorDataType.Fp32, [2, 63], 126, 126 * sizeof(float));

        var error = Assert.Throws<InferenceException>(() => ExecutorParity.Run(pair.Bound, pair.Signature, [wrong], 2));
        var inputs = ExecutorParity.Inputs(pair.Signature, 2, sequence: 1, seed: 2);
        var outputs = ExecutorParity.Run(pair.Bound, pair.Signature, inputs, 2);

        Assert.Equal(400, error.StatusCode);
        Assert.Equal([2L, 10L], Assert.Single(outputs).Shape);
        Assert.Equal(0, pair.Counters.LiveValues);
        ExecutorParity.DisposeAll(outputs.Concat(inputs));
    }

    /// <summary>A model's CPU executor and a <see cref="CudaModelInstance"/> over a second CPU session and CPU memory.</summary>
    private sealed class Pair : IDisposable
    {
        private Pair(IModelExecutor cpu, CudaModelInstance bound, ModelSignature signature, RuntimeCounters counters)
        {
            (Cpu, Bound, Signature, Counters) = (cpu, bound, signature, counters);
        }

        public IModelExecutor Cpu { get; }

        public CudaModelInstance Bound { get; }

        public ModelSignature Signature { get; }

        public RuntimeCounters Counters { get; }

        public static Pair Create(string model)
        {
            var counters = new RuntimeCounters();
            var path = RepoPaths.ExampleModel(model);
            var created = new OnnxSessionFactory(NullLogger<OnnxSessionFactory>.Instance)
                .CreateExecutors(path, new SessionSettings(ExecutionProviderKind.Cpu, 0, 1, 1), 1, null, 32, counters);
            var session = new InferenceSession(path);
            counters.SessionCreated(session);
            var bound = new CudaModelInstance(session, created.Signature, new OutputShapePlan(created.Signature), counters, OrtMemoryInfo.DefaultInstance);
            return new Pair(created.Executors[0], bound, created.Signature, counters);
        }

        public void Dispose()
        {
            Cpu.Dispose();
            Bound.Dispose();
            Assert.Equal(0, Counters.LiveSessions);
        }
    }
}
