using ServingGateway.Inference.Caching;
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
}
