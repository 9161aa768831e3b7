using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Edge;
using ServingGateway.Routing;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace ServingGateway.Gateway.Tests.Routing;

public class ConsistentHashLoadBalancingPolicyTests
{
    private readonly DestinationState[] _nodes = [new("http://n1"), new("http://n2"), new("http://n3")];
    private readonly ClusterState _cluster = new("nodes");
    private readonly FakeTimeProvider _time = new();
    private readonly NodeSaturation _saturation;
    private readonly ConsistentHashLoadBalancingPolicy _policy;

    public ConsistentHashLoadBalancingPolicyTests()
    {
        _cluster.DestinationsState = new ClusterDestinationsState(_nodes, _nodes);
        _saturation = new NodeSaturation(new FixedOptionsMonitor<EdgeOptions>(new EdgeOptions()), _time);
        _policy = new(new FixedOptionsMonitor<EdgeOptions>(new EdgeOptions()), _saturation);
    }

    // The model as the router binds it (route value), the path as sent.
    private static HttpContext Request(string path, string model, string? routingKey = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = path;
        context.Request.RouteValues["model"] = model;
        if (routingKey is not null)
        {
            context.Request.Headers[RoutingKey.Header] = routingKey;
        }

        return context;
    }

    private DestinationState Pick(string model, IReadOnlyList<DestinationState>? available = null, string? routingKey = null) =>
        _policy.PickDestination(Request($"/v2/models/{model}/infer", model, routingKey), _cluster, available ?? _nodes)!;

    [Fact]
    public void Pick_UnderTheBound_AlwaysTheSameNodeForAModel()
    {
        var first = Pick("mlp");

        Assert.All(Enumerable.Range(0, 20), _ => Assert.Same(first, Pick("mlp")));
        Assert.Same(first, _policy.PickDestination(Request("/v2/models/mlp/versions/3/infer", "mlp"), _cluster, _nodes));
        Assert.Same(first, _policy.PickDestination(Request("/V2/MODELS/mlp", "mlp"), _cluster, _nodes));
    }

    [Fact]
    public void Pick_ModelsSpreadOverNodes()
    {
        var used = Enumerable.Range(0, 60).Select(i => Pick($"model{i}")).Distinct().Count();

        Assert.Equal(3, used);
    }

    [Fact]
    public void Pick_OwnerAtTheBound_PassesToTheNextOnTheRing()
    {
        var owner = Pick("mlp");
        var next = Pick("mlp", [.. _nodes.Where(n => n != owner)]);

        // In flight on the owner alone, the bound is ceil(1.25 * (in flight + 1) / 3):
        owner.ConcurrentRequestCount = 8; // bound 4: over it
        Assert.Same(next, Pick("mlp"));
        owner.ConcurrentRequestCount = 3; // bound 2: over it
        Assert.Same(next, Pick("mlp"));
        owner.ConcurrentRequestCount = 1; // bound 1: at it, passed over
        Assert.Same(next, Pick("mlp"));
        owner.ConcurrentRequestCount = 0; // bound 1: under it
        Assert.Same(owner, Pick("mlp"));
    }

    [Fact]
    public void Pick_OwnerBusyOverTheOtherTransport_PassesToTheNextOnTheRing()
    {
        // The gRPC cluster holds the same nodes under the same ids; its requests in flight load the node too.
        var grpcNodes = _nodes.Select(n => new DestinationState(n.DestinationId)).ToArray();
        var grpc = new ClusterState(NodeDiscovery.GrpcClusterId);
        foreach (var node in grpcNodes)
        {
            grpc.Destinations[node.DestinationId] = node;
        }

        var services = new ServiceCollection().AddSingleton<IProxyStateLookup>(new OneCluster(grpc)).BuildServiceProvider();
        var policy = new ConsistentHashLoadBalancingPolicy(new FixedOptionsMonitor<EdgeOptions>(new EdgeOptions()), _saturation, services);
        DestinationState PickBoth() => policy.PickDestination(Request("/v2/models/mlp/infer", "mlp"), _cluster, _nodes)!;
        var owner = PickBoth();
        var next = Pick("mlp", [.. _nodes.Where(n => n != owner)]);

        grpcNodes.Single(n => n.DestinationId == owner.DestinationId).ConcurrentRequestCount = 3; // none over REST: bound 2, over it
        Assert.Same(next, PickBoth());
        Assert.Same(owner, Pick("mlp")); // a policy that sees one cluster only keeps the owner
    }

    private sealed class OneCluster(ClusterState cluster) : IProxyStateLookup
    {
        public bool TryGetCluster(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ClusterState? state)
        {
            state = id == cluster.ClusterId ? cluster : null;
            return state is not null;
        }

        public IEnumerable<ClusterState> GetClusters() => [cluster];

        public bool TryGetRoute(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RouteModel? route)
        {
            route = null;
            return false;
        }

        public IEnumerable<RouteModel> GetRoutes() => [];
    }

    [Fact]
    public void Pick_EvenLoad_KeepsTheOwner()
    {
        var owner = Pick("mlp");
        foreach (var node in _nodes)
        {
            node.ConcurrentRequestCount = 5;
        }

        // 15 in flight: bound = ceil(1.25 * 16 / 3) = 7, everyone under it.
        Assert.Same(owner, Pick("mlp"));
    }

    [Fact]
    public void Pick_OwnerUnavailable_NextOnTheRingAndBackWhenItReturns()
    {
        var owner = Pick("mlp");
        var others = _nodes.Where(n => n != owner).ToArray();

        var fallback = Pick("mlp", others);

        Assert.Contains(fallback, others);
        Assert.Same(owner, Pick("mlp"));
    }

    [Fact]
    public void Pick_RoutingKeyHeader_SpreadsOneModelOverNodes()
    {
        var used = Enumerable.Range(0, 60).Select(i => Pick("mlp", routingKey: $"user-{i}")).Distinct().Count();

        Assert.Equal(3, used);
    }

    [Fact]
    public void Pick_OwnerSaturated_NextOnTheRingUntilItsRetryAfterEnds()
    {
        var owner = Pick("mlp");
        var next = Pick("mlp", [.. _nodes.Where(n => n != owner)]);

        _saturation.Mark(owner.DestinationId, TimeSpan.FromSeconds(2));

        Assert.Same(next, Pick("mlp"));
        _time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.Same(next, Pick("mlp"));
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Same(owner, Pick("mlp"));
    }

    [Fact]
    public void Pick_OnlyUnsaturatedNodeOverTheBound_StillPreferredToASaturatedOne()
    {
        var owner = Pick("mlp");
        var next = Pick("mlp", [.. _nodes.Where(n => n != owner)]);
        var third = _nodes.Single(n => n != owner && n != next);
        _saturation.Mark(owner.DestinationId, TimeSpan.FromSeconds(5));
        _saturation.Mark(third.DestinationId, TimeSpan.FromSeconds(5));

        next.ConcurrentRequestCount = 10; // bound ceil(1.25 * 11 / 3) = 5: over it

        Assert.Same(next, Pick("mlp"));
    }

    [Fact]
    public void Pick_EverySaturated_TheOwnerAmongEquals()
    {
        var owner = Pick("mlp");
        foreach (var node in _nodes)
        {
            _saturation.Mark(node.DestinationId, TimeSpan.FromSeconds(5));
        }

        Assert.Same(owner, Pick("mlp"));
    }

    [Fact]
    public void Pick_EverySaturated_TheFewestInFlight_NotTheOwnerWhileTheOthersIdle()
    {
        var owner = Pick("mlp");
        var next = Pick("mlp", [.. _nodes.Where(n => n != owner)]);
        var third = _nodes.Single(n => n != owner && n != next);
        foreach (var node in _nodes)
        {
            _saturation.Mark(node.DestinationId, TimeSpan.FromSeconds(5));
        }

        owner.ConcurrentRequestCount = 3;
        next.ConcurrentRequestCount = 1;
        third.ConcurrentRequestCount = 1;
        Assert.Same(next, Pick("mlp")); // of the two with one in flight, the first on the ring

        next.ConcurrentRequestCount = 2;
        Assert.Same(third, Pick("mlp"));

        owner.ConcurrentRequestCount = 2;
        _time.Advance(TimeSpan.FromSeconds(5)); // the marks end: the bounded load again, the owner under its bound (ceil(1.25 x 6 / 3) = 3)
        Assert.Same(owner, Pick("mlp"));
    }

    [Fact]
    public void Pick_NothingAvailable_IsNull()
    {
        Assert.Null(_policy.PickDestination(Request("/v2/models/mlp/infer", "mlp"), _cluster, []));
    }
}
