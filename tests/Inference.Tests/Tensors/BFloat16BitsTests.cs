using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Tests.Tensors;

public class BFloat16BitsTests
{
    [Theory]
    [InlineData(1f, 0x3F80)]
    [InlineData(-2f, 0xC000)]
    [InlineData(3.14159f, 0x4049)]
    [InlineData(1.00390625f, 0x3F80)] // exactly half-way between 0x3F80 and 0x3F81: ties to even
    [InlineData(1.01171875f, 0x3F82)] // half-way between 0x3F81 and 0x3F82: ties to even
    public void FromSingle_RoundsToNearestEven(float value, int expected)
    {
        Assert.Equal((ushort)expected, BFloat16Bits.FromSingle(value));
    }

    [Fact]
    public void FromSingle_NaNStaysNaN_LargeRoundsToInfinity()
    {
        Assert.False(BFloat16Bits.IsFinite(BFloat16Bits.FromSingle(float.NaN)));
        Assert.True(float.IsNaN(BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(float.NaN))));
        Assert.False(BFloat16Bits.IsFinite(BFloat16Bits.FromSingle(3.4e38f)));
        Assert.True(BFloat16Bits.IsFinite(BFloat16Bits.FromSingle(3.3e38f)));
    }

    [Fact]
    public void ToSingle_WidensExactly()
    {
        Assert.Equal(-3.140625f, BFloat16Bits.ToSingle(0xC049));
    }
}
