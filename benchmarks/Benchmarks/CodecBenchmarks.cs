using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using BenchmarkDotNet.Attributes;
using ServingGateway.Inference.Buffers;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Benchmarks;

/// <summary>The OIP codec on mlp's shapes: a [1,64] FP32 request in, a [1,10] FP32 response out.</summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private static readonly ModelSignature Mlp = new(
        [new TensorSpec("input", TensorDataType.Fp32, [-1, 64], ["batch", null])],
        [new TensorSpec("output", TensorDataType.Fp32, [-1, 10], ["batch", null])],
        64);

    private readonly PooledBufferWriter _writer = new();
    private byte[] _json = [];
    private byte[] _binary = [];
    private int _binaryHeader;
    private PooledTensor[] _outputs = [];
    private RequestedOutput[] _requested = [];

    [GlobalSetup]
    public void Setup()
    {
        var values = string.Join(",", Enumerable.Range(0, 64).Select(i => (i / 7f).ToString("R", CultureInfo.InvariantCulture)));
        _json = Encoding.UTF8.GetBytes($$"""{"id":"r1","inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{values}}]}]}""");
        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":256}}]}""");
        _binaryHeader = header.Length;
        _binary = [.. header, .. MemoryMarshal.AsBytes(Enumerable.Range(0, 64).Select(i => i / 7f).ToArray().AsSpan()).ToArray()];
        var output = PooledTensor.Rent("output", TensorDataType.Fp32, [1, 10], 10, 40);
        MemoryMarshal.Cast<byte, float>(output.Span).Fill(0.123f);
        _outputs = [output];
        _requested = [new RequestedOutput(0, false)];
    }

    [Benchmark]
    public long ReadJson()
    {
        using var request = InferRequestReader.Read(_json, null, Mlp);
        return request.BatchSize;
    }

    [Benchmark]
    public long ReadBinary()
    {
        using var request = InferRequestReader.Read(_binary, _binaryHeader, Mlp);
        return request.BatchSize;
    }

    [Benchmark]
    public int WriteJson()
    {
        _writer.Clear();
        InferResponseWriter.Write(_writer, "mlp", "1", "r1", _outputs, _requested);
        return _writer.WrittenCount;
    }
}
