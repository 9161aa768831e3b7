using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Tests.Tensors;

public class TensorShapeTests
{
    [Theory]
    [InlineData(new long[] { }, 1)]
    [InlineData(new long[] { 2, 3, 4 }, 24)]
    [InlineData(new long[] { 0, 64 }, 0)]
    [InlineData(new long[] { 4294967296, 4294967296, 0 }, 0)]
    public void TryGetElementCount_ValidShape_ReturnsProduct(long[] shape, long expected)
    {
        Assert.True(TensorShape.TryGetElementCount(shape, long.MaxValue, out var count));
        Assert.Equal(expected, count);
    }

    [Theory]
    [InlineData(new long[] { 2, -1 }, long.MaxValue)]
    [InlineData(new long[] { -1, 0 }, long.MaxValue)]
    [InlineData(new long[] { 4294967296, 4294967296 }, long.MaxValue)]
    [InlineData(new long[] { 1000, 1000 }, 999_999)]
    public void TryGetElementCount_NegativeOrTooLarge_ReturnsFalse(long[] shape, long max)
    {
        Assert.False(TensorShape.TryGetElementCount(shape, max, out _));
    }

    [Fact]
    public void Format_WritesOipStyle()
    {
        Assert.Equal("[-1, 64]", TensorShape.Format([-1, 64]));
        Assert.Equal("[]", TensorShape.Format([]));
    }
}
