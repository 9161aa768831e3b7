using ServingGateway.Inference.Residency;

namespace ServingGateway.Inference.Tests.Residency;

public sealed class ModelHostFactoryTests
{
    [Theory]
    [InlineData(0, new[] { 1 })]
    [InlineData(1, new[] { 1 })]
    [InlineData(8, new[] { 1, 2, 4, 8 })]
    [InlineData(32, new[] { 1, 2, 4, 8, 16, 32 })]
    [InlineData(48, new[] { 1, 2, 4, 8, 16, 32, 48 })]
    public void WarmUpBatchSizes_MaxBatchSize_PowersOfTwoThenTheMax(int maxBatchSize, int[] expected)
    {
        Assert.Equal(expected, ModelHostFactory.WarmUpBatchSizes(maxBatchSize));
    }
}
