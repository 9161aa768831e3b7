using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tests.Protocol;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Tests.Caching;

public class CachedPredictionTests
{
    private static CachedPrediction Sample()
    {
        using var floats = PooledTensor.Rent("y", TensorDataType.Fp32, [2, 2], 4, 16);
        using var strings = PooledTensor.Rent("s", TensorDataType.Bytes, [1], 1, 7);
        BitConverter.GetBytes(1.25f).CopyTo(floats.Span);
        floats.Span[4..].Fill(7);
        byte[] text = [3, 0, 0, 0, (byte)'a', (byte)'b', (byte)'c'];
        text.CopyTo(strings.Span);
        return CachedPrediction.From([floats, strings]);
    }

    [Fact]
    public void SerializeDeserialize_RoundTripsEveryField()
    {
        var original = Sample();

        var copy = CachedPrediction.Deserialize(original.Serialize())!;

        Assert.Equal(original.Size, copy.Size);
        Assert.Equal(23, copy.Size);
        for (var i = 0; i < original.Outputs.Length; i++)
        {
            Assert.Equal(original.Outputs[i].Name, copy.Outputs[i].Name);
            Assert.Equal(original.Outputs[i].DataType, copy.Outputs[i].DataType);
            Assert.Equal(original.Outputs[i].Shape, copy.Outputs[i].Shape);
            Assert.Equal(original.Outputs[i].ElementCount, copy.Outputs[i].ElementCount);
            Assert.Equal(original.Outputs[i].Data, copy.Outputs[i].Data);
        }
    }

    [Fact]
    public void ToPooled_GivesIndependentCopies()
    {
        var prediction = Sample();

        var first = prediction.ToPooled();
        first[0].Span.Clear();
        var second = prediction.ToPooled();

        Assert.Equal(prediction.Outputs[0].Data, second[0].Span.ToArray());
        Assert.Equal([2L, 2L], second[0].Shape);
        foreach (var tensor in first.Concat(second))
        {
            tensor.Dispose();
        }
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 9, 1, 0 })]
    [InlineData(new byte[] { 1, 1, 0, 1, (byte)'y', 11, 1, 2, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0 })]
    public void Deserialize_OtherVersionOrTruncatedOrInconsistent_IsNull(byte[] bytes)
    {
        Assert.Null(CachedPrediction.Deserialize(bytes));
    }

    [Fact]
    public void Deserialize_TrailingBytes_IsNull()
    {
        Assert.Null(CachedPrediction.Deserialize(Sample().Serialize().Append((byte)0).ToArray()));
    }

    private static CachedPrediction Output(string name, TensorDataType type, params long[] shape)
    {
        var count = shape.Aggregate(1L, (a, d) => a * d);
        using var tensor = PooledTensor.Rent(name, type, shape, count, (int)(count * type.ElementSize()));
        return CachedPrediction.From([tensor]);
    }

    private static InferRequest MlpRequest(long rows) =>
        new(null, [], [new RequestedOutput(0, Binary: false)], rows);

    [Fact]
    public void Fits_TheRequestsOutputsAndSignature_True()
    {
        Assert.True(Output("output", TensorDataType.Fp32, 3, 10).Fits(MlpRequest(3), Signatures.Mlp()));
    }

    [Theory]
    [InlineData("other", false, new long[] { 3, 10 })] // another output's name
    [InlineData("output", true, new long[] { 3, 5 })] // another datatype
    [InlineData("output", false, new long[] { 3, 11 })] // a fixed dimension changed
    [InlineData("output", false, new long[] { 2, 10 })] // another batch size than the request's
    [InlineData("output", false, new long[] { 30 })] // another rank
    public void Fits_NotTheSignatureOrRequest_False(string name, bool fp64, long[] shape)
    {
        Assert.False(Output(name, fp64 ? TensorDataType.Fp64 : TensorDataType.Fp32, shape).Fits(MlpRequest(3), Signatures.Mlp()));
    }

    [Fact]
    public void Fits_MoreOutputsThanAsked_False()
    {
        using var a = PooledTensor.Rent("output", TensorDataType.Fp32, [3, 10], 30, 120);
        using var b = PooledTensor.Rent("output", TensorDataType.Fp32, [3, 10], 30, 120);

        Assert.False(CachedPrediction.From([a, b]).Fits(MlpRequest(3), Signatures.Mlp()));
    }
}
