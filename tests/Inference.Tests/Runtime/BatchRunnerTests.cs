using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Microsoft.ML.OnnxRuntime;
using ServingGateway.Batching;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Runtime;
using ServingGateway.Inference.Tensors;
using ServingGateway.Inference.Tests.Protocol;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Runtime;

/// <summary>Batch assembly and splitting on real ONNX Runtime sessions of the test models.</summary>
public sealed class BatchRunnerTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }

    private (BatchRunner Runner, ModelSignature Signature, ModelStatistics Statistics) Create(string model, int maxBatch)
    {
        var session = new InferenceSession(Path.Combine(RepoPaths.TestModels, model, "1", "model.onnx"));
        var signature = OnnxSessionFactory.ReadSignature(session, maxBatch, 4);
        var instance = new OnnxModelInstance(session, signature, new OutputShapePlan(signature), new RuntimeCounters());
        _owned.Add(instance);
        var statistics = new ModelStatistics(maxBatch);
        var metrics = new NodeMetrics().ForVersion(model, "1", () => null);
        return (new BatchRunner([instance], signature, statistics, metrics, _time), signature, statistics);
    }

    private BatchEntry<InferRequest, PooledTensor[]> Entry(string json, ModelSignature signature)
    {
        var request = InferRequestReader.Read(Encoding.UTF8.GetBytes(json), null, signature);
        _owned.Add(request);
        return new BatchEntry<InferRequest, PooledTensor[]>(request, (int)request.BatchSize, ShapeKey.Of(request.Inputs), 0, 0, long.MaxValue, CancellationToken.None);
    }

    private static async Task<PooledTensor[]> ResultAsync(BatchEntry<InferRequest, PooledTensor[]> entry) =>
        await entry.Completion.WaitAsync(TimeSpan.FromSeconds(30));

    [Fact]
    public async Task Execute_RequestsWithDifferentRowsAndOutputs_EachGetsItsOwnRows()
    {
        var (runner, signature, statistics) = Create("types", 8);
        string Request(int rows, int seed, string outputs)
        {
            var ints = string.Join(",", Enumerable.Range(seed, rows * 3));
            var strings = string.Join(",", Enumerable.Range(seed, rows * 3).Select(i => $"\"s{i}\""));
            var bools = string.Join(",", Enumerable.Range(seed, rows * 3).Select(i => i % 2 == 0 ? "true" : "false"));
            var inputs = new List<string>();
            foreach (var (suffix, type) in new[] { ("bool", "BOOL"), ("uint8", "UINT8"), ("uint16", "UINT16"), ("uint32", "UINT32"), ("uint64", "UINT64"), ("int8", "INT8"), ("int16", "INT16"), ("int32", "INT32"), ("int64", "INT64"), ("fp16", "FP16"), ("fp32", "FP32"), ("fp64", "FP64"), ("bf16", "BF16"), ("string", "BYTES") })
            {
                var data = type == "BYTES" ? strings : type == "BOOL" ? bools : ints;
                inputs.Add($$"""{"name":"x_{{suffix}}","shape":[{{rows}},3],"datatype":"{{type}}","data":[{{data}}]}""");
            }

            return $$"""{"inputs":[{{string.Join(",", inputs)}}],"outputs":[{{outputs}}]}""";
        }

        var a = Entry(Request(2, 10, """{"name":"y_int32"},{"name":"y_string","parameters":{"binary_data":true}}"""), signature);
        var b = Entry(Request(1, 50, """{"name":"y_string"}"""), signature);
        var c = Entry(Request(3, 90, """{"name":"y_fp16"},{"name":"y_bool"},{"name":"y_int32"}"""), signature);

        runner.Execute(0, [a, b, c]);

        var resultA = await ResultAsync(a);
        var resultB = await ResultAsync(b);
        var resultC = await ResultAsync(c);
        try
        {
            Assert.Equal(Enumerable.Range(10, 6), MemoryMarshal.Cast<byte, int>(resultA[0].Span).ToArray());
            Assert.Equal([2L, 3L], resultA[0].Shape);
            Assert.Equal(Signatures.Prefixed([.. Enumerable.Range(10, 6).Select(i => Encoding.UTF8.GetBytes($"s{i}"))]), resultA[1].Span.ToArray());
            Assert.Equal(Signatures.Prefixed([.. Enumerable.Range(50, 3).Select(i => Encoding.UTF8.GetBytes($"s{i}"))]), resultB[0].Span.ToArray());
            Assert.Equal([1L, 3L], resultB[0].Shape);
            Assert.Equal(Enumerable.Range(90, 9).Select(i => (Half)i), MemoryMarshal.Cast<byte, Half>(resultC[0].Span).ToArray());
            Assert.Equal(Enumerable.Range(90, 9).Select(i => (byte)(i % 2 == 0 ? 1 : 0)), resultC[1].Span.ToArray());
            Assert.Equal(Enumerable.Range(90, 9), MemoryMarshal.Cast<byte, int>(resultC[2].Span).ToArray());
            Assert.Equal([3L, 3L], resultC[2].Shape);
            Assert.Equal(6, statistics.InferenceCount);
            Assert.Equal(1, statistics.ExecutionCount);
            Assert.Equal(1, statistics.BySize[6].ComputeInfer.Count);
        }
        finally
        {
            foreach (var tensor in resultA.Concat(resultB).Concat(resultC))
            {
                tensor.Dispose();
            }
        }
    }

    [Fact]
    public async Task Execute_OneBadInputInABatch_FailsOnlyThatRequest()
    {
        var (runner, signature, _) = Create("lookup", 8);
        var good1 = Entry("""{"inputs":[{"name":"ids","shape":[1,2],"datatype":"INT64","data":[0,1]}]}""", signature);
        var bad = Entry("""{"inputs":[{"name":"ids","shape":[1,2],"datatype":"INT64","data":[9,0]}]}""", signature);
        var good2 = Entry("""{"inputs":[{"name":"ids","shape":[2,2],"datatype":"INT64","data":[3,2,1,0]}]}""", signature);

        runner.Execute(0, [good1, bad, good2]);

        var first = await ResultAsync(good1);
        var second = await ResultAsync(good2);
        var ex = await Assert.ThrowsAsync<InferenceException>(() => ResultAsync(bad));
        Assert.Equal(400, ex.StatusCode);
        Assert.Contains("could not run on this input", ex.Message, StringComparison.Ordinal);
        Assert.Equal([0f, 1, 2, 3, 4, 5], MemoryMarshal.Cast<byte, float>(first[0].Span).ToArray());
        Assert.Equal([9f, 10, 11, 6, 7, 8, 3, 4, 5, 0, 1, 2], MemoryMarshal.Cast<byte, float>(second[0].Span).ToArray());
        Assert.Equal([2L, 2L, 3L], second[0].Shape);
        first[0].Dispose();
        second[0].Dispose();
    }

    [Fact]
    public async Task Execute_QueueTimes_AreCountedPerRequest()
    {
        var (runner, signature, statistics) = Create("dynamic", 16);
        var entry = new BatchEntry<InferRequest, PooledTensor[]>(
            InferRequestReader.Read("""{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2]}]}"""u8, null, signature),
            1, ShapeKey.Unbatched, 0, enqueuedAt: 0, long.MaxValue, CancellationToken.None)
        {
            DispatchedAt = _time.TimestampFrequency / 100, // 10 ms in the queue
        };
        _owned.Add(entry.Request);

        runner.Execute(0, [entry]);

        (await ResultAsync(entry))[0].Dispose();
        Assert.Equal(1, statistics.Queue.Count);
        Assert.Equal(10_000_000, statistics.Queue.Nanoseconds);
    }
}
