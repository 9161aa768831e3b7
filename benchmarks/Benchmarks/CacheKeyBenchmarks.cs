using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Benchmarks;

/// <summary>The prediction cache's keys for an mlp request: by tensors, and by exact bytes.</summary>
[MemoryDiagnoser]
public class CacheKeyBenchmarks
{
    private static readonly ModelSignature Mlp = new(
        [new TensorSpec("input", TensorDataType.Fp32, [-1, 64], ["batch", null])],
        [new TensorSpec("output", TensorDataType.Fp32, [-1, 10], ["batch", null])],
        64);

    private readonly byte[] _prefix = CacheKey.Prefix("mlp", 1, "sha256:" + new string('a', 64));
    private byte[] _body = [];
    private InferRequest _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        var values = string.Join(",", Enumerable.Range(0, 64).Select(i => (i / 7f).ToString("R", CultureInfo.InvariantCulture)));
        _body = Encoding.UTF8.GetBytes($$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{values}}]}]}""");
        _request = InferRequestReader.Read(_body, null, Mlp);
    }

    [GlobalCleanup]
    public void Cleanup() => _request.Dispose();

    [Benchmark]
    public UInt128 TensorKey() => CacheKey.Compute(_prefix, _request, Mlp);

    [Benchmark]
    public UInt128 ExactKey() => CacheKey.ComputeExact(_prefix, null, _body);
}
