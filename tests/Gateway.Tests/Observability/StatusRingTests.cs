using ServingGateway.Observability;

namespace ServingGateway.Gateway.Tests.Observability;

public sealed class StatusRingTests
{
    private static StatusSample At(long unixMs) => new(unixMs, unixMs, null, null, 0, null, null);

    [Fact]
    public void ToArray_FewerThanCapacity_AllOldestFirst()
    {
        var ring = new StatusRing(4);
        ring.Add(At(1));
        ring.Add(At(2));

        Assert.Equal([1L, 2L], ring.ToArray().Select(s => s.UnixMs));
        Assert.Equal(2, ring.Count);
    }

    [Fact]
    public void Add_PastCapacity_KeepsTheLastCapacityOldestFirst()
    {
        var ring = new StatusRing(3);
        for (var i = 1; i <= 7; i++)
        {
            ring.Add(At(i));
        }

        Assert.Equal([5L, 6L, 7L], ring.ToArray().Select(s => s.UnixMs));
        Assert.Equal(3, ring.Count);
        Assert.Equal(3, ring.Capacity);
    }

    [Fact]
    public void ToArray_Empty_Empty()
    {
        Assert.Empty(new StatusRing(2).ToArray());
    }

    [Fact]
    public void Constructor_ZeroCapacity_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StatusRing(0));
    }
}
