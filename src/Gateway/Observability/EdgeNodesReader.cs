using ServingGateway.Routing;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace ServingGateway.Observability;

/// <summary>
/// The nodes behind an edge and their health, read from the state routing decides on (YARP's REST cluster: its active
/// and passive health checks, configured in <see cref="NodeDiscovery.Cluster"/>) and <see cref="NodeSaturation"/>, with
/// the requests in flight over REST and gRPC together (<see cref="NodeDiscovery.GrpcClusterId"/>); probes nothing itself.
/// </summary>
internal sealed class EdgeNodesReader(IProxyStateLookup proxy, NodeSaturation saturation)
{
    /// <summary>Every node of the edge's cluster, by id.</summary>
    public IReadOnlyList<NodeHealthReading> Read()
    {
        if (!proxy.TryGetCluster(NodeDiscovery.ClusterId, out var cluster))
        {
            return [];
        }

        var available = cluster.DestinationsState.AvailableDestinations.Select(d => d.DestinationId).ToHashSet(StringComparer.Ordinal);

        // The gRPC cluster holds the same nodes under the same ids: its requests in flight are the node's too.
        var grpc = proxy.TryGetCluster(NodeDiscovery.GrpcClusterId, out var grpcCluster) ? grpcCluster.Destinations : null;
        return [.. cluster.Destinations.Values
            .OrderBy(d => d.DestinationId, StringComparer.Ordinal)
            .Select(d => new NodeHealthReading(
                d.DestinationId,
                d.Model.Config.Address,
                available.Contains(d.DestinationId),
                Name(d.Health.Active),
                Name(d.Health.Passive),
                saturation.IsSaturated(d.DestinationId),
                d.ConcurrentRequestCount + (grpc is not null && grpc.TryGetValue(d.DestinationId, out var g) ? g.ConcurrentRequestCount : 0)))];
    }

    private static string Name(DestinationHealth health) => health switch
    {
        DestinationHealth.Healthy => "healthy",
        DestinationHealth.Unhealthy => "unhealthy",
        _ => "unknown",
    };
}
