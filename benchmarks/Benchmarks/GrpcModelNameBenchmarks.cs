using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using OpenInferenceProtocol;
using ServingGateway.Routing;

namespace ServingGateway.Benchmarks;

/// <summary>
/// The cost of reading a gRPC request's model name from its first bytes (GrpcModelName, docs/API.md "Through the
/// edge"): ModelInfer frames as Google.Protobuf writes them, mlp's (one 64-float row) and resnet18's (a 3x224x224
/// image, 588 KiB: only the 4 KiB prefix is looked at); and the whole peek on a pipe, as the middleware does it,
/// against the same pipe read without it.
/// </summary>
[MemoryDiagnoser]
public class GrpcModelNameBenchmarks
{
    private readonly Pipe _pipe = new();
    private byte[] _frame = [];
    private ReadOnlySequence<byte> _body;

    /// <summary>The model whose request is read.</summary>
    [Params("mlp", "resnet18")]
    public string Model { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var (input, shape, bytes) = Model == "mlp" ? ("input", new long[] { 1, 64 }, 64 * 4) : ("input", new long[] { 1, 3, 224, 224 }, 3 * 224 * 224 * 4);
        var request = new ModelInferRequest { ModelName = Model, Id = "bench-1" };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input, Datatype = "FP32" };
        tensor.Shape.AddRange(shape);
        request.Inputs.Add(tensor);
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[bytes]));
        var message = request.ToByteArray();
        _frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(_frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(_frame, 5);
        _body = new ReadOnlySequence<byte>(_frame);
    }

    [Benchmark]
    public string? TryRead()
    {
        GrpcModelName.TryRead(_body, 1, complete: false, out var name);
        return name;
    }

    // The first 16 KiB of the body arrive (Kestrel's pipe holds what has arrived), are peeked, then read and consumed
    // as the gRPC service or YARP would.
    [Benchmark]
    public async Task<long> PipePeekThenRead()
    {
        await _pipe.Writer.WriteAsync(_frame.AsMemory(0, Math.Min(_frame.Length, 16384)));
        await GrpcModelNameMiddleware.PeekAsync(_pipe.Reader, 1, CancellationToken.None);
        return await ConsumeAsync();
    }

    [Benchmark(Baseline = true)]
    public async Task<long> PipeRead()
    {
        await _pipe.Writer.WriteAsync(_frame.AsMemory(0, Math.Min(_frame.Length, 16384)));
        return await ConsumeAsync();
    }

    private async Task<long> ConsumeAsync()
    {
        var result = await _pipe.Reader.ReadAsync();
        var length = result.Buffer.Length;
        _pipe.Reader.AdvanceTo(result.Buffer.End);
        return length;
    }
}
