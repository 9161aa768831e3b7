using System.Text;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;
using static ServingGateway.Inference.Tests.Protocol.Signatures;

namespace ServingGateway.Inference.Tests.Caching;

public class CacheKeyTests
{
    private static readonly ModelSignature Signature = new(
        [Spec("a", TensorDataType.Fp32, -1, 2), Spec("b", TensorDataType.Int64, -1, 1)],
        [Spec("y", TensorDataType.Fp32, -1, 2), Spec("z", TensorDataType.Fp32, -1, 2)],
        8);

    private const string Json = """{"id":"one","inputs":[{"name":"a","shape":[1,2],"datatype":"FP32","data":[1.5,2]},{"name":"b","shape":[1,1],"datatype":"INT64","data":[7]}]}""";

    private static UInt128 Key(string json, string model = "m", string digest = "sha256:1", byte[]? binary = null, long version = 1)
    {
        var body = Encoding.UTF8.GetBytes(json);
        int? header = null;
        if (binary is not null)
        {
            header = body.Length;
            body = [.. body, .. binary];
        }

        using var request = InferRequestReader.Read(body, header, Signature);
        return CacheKey.Compute(model, version, digest, request, Signature);
    }

    [Fact]
    public void Compute_SameTensorsJsonOrBinaryOrOtherIdOrInputOrder_SameKey()
    {
        var binary = BitConverter.GetBytes(1.5f).Concat(BitConverter.GetBytes(2f)).ToArray();
        var binaryJson = """{"inputs":[{"name":"b","shape":[1,1],"datatype":"INT64","data":[7]},{"name":"a","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}""";

        var key = Key(Json);

        Assert.Equal(key, Key(Json.Replace("\"one\"", "\"two\"", StringComparison.Ordinal)));
        Assert.Equal(key, Key(binaryJson, binary: binary));
        Assert.Equal(key, Key("""{"inputs":[{"name":"b","shape":[1,1],"datatype":"INT64","data":[7]},{"name":"a","shape":[1,2],"datatype":"FP32","data":[[1.5,2]]}]}"""));
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"a","shape":[1,2],"datatype":"FP32","data":[1.5,2.5]},{"name":"b","shape":[1,1],"datatype":"INT64","data":[7]}]}""")]
    [InlineData("""{"inputs":[{"name":"a","shape":[1,2],"datatype":"FP32","data":[1.5,2]},{"name":"b","shape":[1,1],"datatype":"INT64","data":[8]}]}""")]
    [InlineData("""{"inputs":[{"name":"a","shape":[1,2],"datatype":"FP32","data":[1.5,2]},{"name":"b","shape":[1,1],"datatype":"INT64","data":[7]}],"outputs":[{"name":"y"}]}""")]
    [InlineData("""{"inputs":[{"name":"a","shape":[1,2],"datatype":"FP32","data":[1.5,2]},{"name":"b","shape":[1,1],"datatype":"INT64","data":[7]}],"outputs":[{"name":"z"},{"name":"y"}]}""")]
    [InlineData("""{"inputs":[{"name":"a","shape":[1,2],"datatype":"FP32","data":[1.5,2]},{"name":"b","shape":[1,1],"datatype":"INT64","data":[7]}],"parameters":{"binary_data_output":true}}""")]
    public void Compute_DifferentDataOrOutputsOrBinaryFlags_DifferentKey(string other)
    {
        Assert.NotEqual(Key(Json), Key(other));
    }

    [Fact]
    public void Compute_OtherModelOrDigest_DifferentKey()
    {
        Assert.NotEqual(Key(Json), Key(Json, model: "m2"));
        Assert.NotEqual(Key(Json), Key(Json, digest: "sha256:2"));
    }

    [Fact]
    public void Compute_OtherVersionWithTheSameDigest_DifferentKey()
    {
        // Two versions with byte-identical files share a digest; their entries must not.
        Assert.NotEqual(Key(Json), Key(Json, version: 2));
    }

    [Fact]
    public void ComputeExact_OtherVersionWithTheSameDigest_DifferentKey()
    {
        var body = Encoding.UTF8.GetBytes(Json);

        Assert.NotEqual(
            CacheKey.ComputeExact(CacheKey.Prefix("m", 1, "sha256:1"), null, body),
            CacheKey.ComputeExact(CacheKey.Prefix("m", 2, "sha256:1"), null, body));
    }
}
