using ServingGateway.Inference.Caching;

namespace ServingGateway.Inference.Tests.Caching;

public class RotatingBloomFilterTests
{
    private static UInt128 Key(int i) => System.IO.Hashing.XxHash128.HashToUInt128(BitConverter.GetBytes(i));

    [Fact]
    public void CheckAndAdd_SecondSighting_IsSeen()
    {
        var filter = new RotatingBloomFilter(1000, 0.01);

        Assert.False(filter.CheckAndAdd(Key(1)));
        Assert.True(filter.CheckAndAdd(Key(1)));
    }

    [Fact]
    public void Sizing_FollowsExpectedKeysAndRate()
    {
        var filter = new RotatingBloomFilter(10_000, 0.01);

        // m = -n ln p / (ln 2)^2 = 95851 bits, k = m / n ln 2 = 7.
        Assert.Equal(95_851, filter.Bits);
        Assert.Equal(7, filter.Hashes);
    }

    [Fact]
    public void CheckAndAdd_FalsePositivesStayNearTheRate()
    {
        var filter = new RotatingBloomFilter(10_000, 0.01);
        for (var i = 0; i < 9_000; i++)
        {
            filter.CheckAndAdd(Key(i));
        }

        var falsePositives = Enumerable.Range(1_000_000, 10_000).Count(i => filter.CheckAndAdd(Key(i)));

        Assert.InRange(falsePositives, 0, 300); // 1% of 10 000 is 100; rotation halfway adds a little
    }

    [Fact]
    public void CheckAndAdd_FarMoreKeysThanExpected_NeverFillsUp()
    {
        var filter = new RotatingBloomFilter(1_000, 0.01);
        for (var i = 0; i < 100_000; i++)
        {
            filter.CheckAndAdd(Key(i));
        }

        var falsePositives = Enumerable.Range(5_000_000, 1_000).Count(i => filter.CheckAndAdd(Key(i)));
        var recent = Key(99_999);

        Assert.InRange(falsePositives, 0, 50);
        Assert.True(filter.CheckAndAdd(recent));
    }
}
