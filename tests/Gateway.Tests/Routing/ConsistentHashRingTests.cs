using ServingGateway.Routing;

namespace ServingGateway.Gateway.Tests.Routing;

public class ConsistentHashRingTests
{
    private const int Keys = 20_000;

    private static ConsistentHashRing<string> Ring(params string[] nodes) => new([.. nodes.Select(n => (n, n))], 160);

    private static Dictionary<string, string> Owners(ConsistentHashRing<string> ring) =>
        Enumerable.Range(0, Keys).Select(i => $"model-{i}").ToDictionary(k => k, ring.Owner);

    [Fact]
    public void Owner_KeysSpreadEvenlyOverNodes()
    {
        var owners = Owners(Ring("a", "b", "c", "d"));

        // 160 virtual nodes each: every node owns 25% of the keys, give or take a few points.
        Assert.All(owners.GroupBy(o => o.Value), g => Assert.InRange(g.Count() / (double)Keys, 0.20, 0.30));
    }

    [Fact]
    public void AddingAFifthNode_MovesAboutAFifthOfTheKeys_AllToIt()
    {
        var before = Owners(Ring("a", "b", "c", "d"));
        var after = Owners(Ring("a", "b", "c", "d", "e"));

        var moved = before.Where(k => after[k.Key] != k.Value).ToList();

        // The ideal is 1/5 = 0.20; allow 0.15 to 0.25 for the spread of 160 virtual nodes.
        Assert.InRange(moved.Count / (double)Keys, 0.15, 0.25);
        Assert.All(moved, k => Assert.Equal("e", after[k.Key]));
    }

    [Fact]
    public void RemovingANode_MovesOnlyItsKeys()
    {
        var before = Owners(Ring("a", "b", "c", "d"));
        var after = Owners(Ring("a", "b", "d"));

        Assert.All(before.Where(k => k.Value != "c"), k => Assert.Equal(k.Value, after[k.Key]));
        Assert.All(before.Where(k => k.Value == "c"), k => Assert.NotEqual("c", after[k.Key]));
    }

    [Fact]
    public void Walk_VisitsEveryNodeOnceOwnerFirst()
    {
        var ring = Ring("a", "b", "c");
        var order = new int[3];

        ring.Walk("mlp", order);

        Assert.Equal(ring.Owner("mlp"), ring[order[0]]);
        Assert.Equal(["a", "b", "c"], order.Select(i => ring[i]).Order());
    }

    [Fact]
    public void Ring_SameNodesInAnyOrder_SameOwners()
    {
        Assert.Equal(Owners(Ring("a", "b", "c")), Owners(new ConsistentHashRing<string>([("c", "c"), ("a", "a"), ("b", "b")], 160)));
    }
}
