using Microsoft.Extensions.Options;
using ServingGateway.Edge;
using ServingGateway.Inference.Serving;
using ServingGateway.Observability;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace ServingGateway.Routing;

/// <summary>
/// YARP load balancing by consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam): a
/// request goes to the first node on the ring from its routing key whose in-flight requests are below
/// ceil(load factor x (all in-flight + 1) / nodes); unhealthy nodes (not in YARP's available list) are
/// passed over; a node's in-flight requests count its REST and gRPC ones together. So one model's traffic stays on
/// one node (warm sessions, warm cache) until that node
/// carries more than its bounded share, and spills to the next node on the ring. A node that answered 503
/// with Retry-After (<see cref="NodeSaturation"/>) is passed over for that long, before the bound: a
/// saturated node gets a request only when every available node is saturated (then the least loaded).
/// </summary>
internal sealed class ConsistentHashLoadBalancingPolicy : ILoadBalancingPolicy
{
    /// <summary>The policy's name in cluster configuration.</summary>
    public const string PolicyName = "ConsistentHashBoundedLoad";

    private readonly IOptionsMonitor<EdgeOptions> _options;
    private readonly NodeSaturation _saturation;
    // One ring per cluster (REST and gRPC: the same nodes and ids, but their own destination objects).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, RingCache> _rings = new(StringComparer.Ordinal);

    private readonly IServiceProvider? _services;
    private IProxyStateLookup? _proxy;

    /// <summary>
    /// The policy; <paramref name="services"/> gives the proxy's state (resolved at the first pick: YARP's configuration
    /// validation needs the policies first), for the requests in flight to a node over the other transport.
    /// </summary>
    public ConsistentHashLoadBalancingPolicy(IOptionsMonitor<EdgeOptions> options, NodeSaturation saturation, IServiceProvider? services = null)
    {
        _options = options;
        _saturation = saturation;
        _services = services;
    }

    public string Name => PolicyName;

    public DestinationState? PickDestination(HttpContext context, ClusterState cluster, IReadOnlyList<DestinationState> availableDestinations)
    {
        if (availableDestinations.Count == 0)
        {
            return null;
        }

        using var span = GatewayTelemetry.Source.StartChild("route");
        var options = _options.CurrentValue;
        var ring = Ring(cluster, options.VirtualNodes);
        var key = RoutingKey.Of(context.Request);
        var picked = Pick(ring, key, availableDestinations, options.LoadFactor, d => _saturation.IsSaturated(d.DestinationId), Sibling(cluster.ClusterId));
        span?.SetTag("route.destination", picked.DestinationId);
        return picked;
    }

    /// <summary>
    /// The first available destination on the ring from <paramref name="key"/> that is neither saturated nor at the
    /// load bound; else the first that is not saturated; else (every one saturated) the one with the fewest requests
    /// in flight, the first on the ring among equals.
    /// </summary>
    /// <remarks>
    /// A node's load is its requests in flight in this cluster plus, with <paramref name="sibling"/> (the other
    /// transport's cluster: REST and gRPC hold the same nodes under the same ids), its requests in flight there.
    /// </remarks>
    internal static DestinationState Pick(
        ConsistentHashRing<DestinationState> ring, string key, IReadOnlyList<DestinationState> available, double loadFactor, Func<DestinationState, bool>? saturated = null,
        IReadOnlyDictionary<string, DestinationState>? sibling = null)
    {
        var total = 0L;
        foreach (var destination in available)
        {
            total += Load(destination, sibling);
        }

        var bound = (long)Math.Ceiling(loadFactor * (total + 1) / available.Count);
        Span<int> order = ring.Count <= 256 ? stackalloc int[ring.Count] : new int[ring.Count];
        ring.Walk(key, order);
        DestinationState? leastLoaded = null;
        var leastLoad = long.MaxValue;
        DestinationState? firstUnsaturated = null;
        foreach (var index in order)
        {
            var candidate = ring[index];
            if (!Contains(available, candidate))
            {
                continue; // unhealthy or removed: passed over
            }

            var load = Load(candidate, sibling);
            if (saturated?.Invoke(candidate) == true)
            {
                if (load < leastLoad)
                {
                    (leastLoaded, leastLoad) = (candidate, load);
                }

                continue; // it said it is overloaded: passed over until its Retry-After ends
            }

            firstUnsaturated ??= candidate;
            if (load < bound)
            {
                return candidate;
            }
        }

        // Every unsaturated node is at the bound (it cannot be without saturated ones, as the bound is above the
        // average): the first unsaturated. When every node is saturated, the one with the fewest requests in flight
        // (the first on the ring among equals), which decides for itself: all of them refusing, the owner alone would
        // get every request while the others sit idle behind their marks.
        return firstUnsaturated ?? leastLoaded ?? available[0];
    }

    private static int Load(DestinationState destination, IReadOnlyDictionary<string, DestinationState>? sibling) =>
        destination.ConcurrentRequestCount + (sibling is not null && sibling.TryGetValue(destination.DestinationId, out var other) ? other.ConcurrentRequestCount : 0);

    // The other transport's cluster of the same nodes, or null.
    private System.Collections.Concurrent.ConcurrentDictionary<string, DestinationState>? Sibling(string clusterId)
    {
        var other = clusterId == NodeDiscovery.ClusterId ? NodeDiscovery.GrpcClusterId : clusterId == NodeDiscovery.GrpcClusterId ? NodeDiscovery.ClusterId : null;
        if (other is null || _services is null)
        {
            return null;
        }

        _proxy ??= _services.GetService<IProxyStateLookup>();
        return _proxy is not null && _proxy.TryGetCluster(other, out var state) ? state.Destinations : null;
    }

    private static bool Contains(IReadOnlyList<DestinationState> available, DestinationState candidate)
    {
        foreach (var destination in available)
        {
            if (ReferenceEquals(destination, candidate))
            {
                return true;
            }
        }

        return false;
    }

    // The ring over all of the cluster's destinations (healthy or not, so health changes do not move keys),
    // rebuilt only when the set of destinations changes.
    private ConsistentHashRing<DestinationState> Ring(ClusterState cluster, int virtualNodes)
    {
        var all = cluster.DestinationsState.AllDestinations;
        if (_rings.TryGetValue(cluster.ClusterId, out var cached) && cached.Matches(all, virtualNodes))
        {
            return cached.Ring;
        }

        var fresh = new RingCache([.. all], virtualNodes);
        _rings[cluster.ClusterId] = fresh;
        return fresh.Ring;
    }

    private sealed class RingCache(DestinationState[] destinations, int virtualNodes)
    {
        public ConsistentHashRing<DestinationState> Ring { get; } =
            new([.. destinations.OrderBy(d => d.DestinationId, StringComparer.Ordinal).Select(d => (d.DestinationId, d))], virtualNodes);

        public bool Matches(IReadOnlyList<DestinationState> all, int nodes)
        {
            if (nodes != virtualNodes || all.Count != destinations.Length)
            {
                return false;
            }

            for (var i = 0; i < all.Count; i++)
            {
                if (!ReferenceEquals(all[i], destinations[i]))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
