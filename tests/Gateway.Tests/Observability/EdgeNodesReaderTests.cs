using Microsoft.Extensions.Time.Testing;
using ServingGateway.Edge;
using ServingGateway.Observability;
using ServingGateway.Routing;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace ServingGateway.Gateway.Tests.Observability;

/// <summary>The nodes the status page and the edge's metrics show: a node's requests in flight over REST and gRPC together.</summary>
public sealed class EdgeNodesReaderTests
{
    [Fact]
    public void Read_RequestsInFlightOverBothClusters_Summed()
    {
        var rest = Cluster(NodeDiscovery.ClusterId, ("http://10.0.0.1:8000", 2), ("http://10.0.0.2:8000", 0));
        var grpc = Cluster(NodeDiscovery.GrpcClusterId, ("http://10.0.0.1:8000", 3), ("http://10.0.0.2:8000", 4));
        var saturation = new NodeSaturation(new FixedOptionsMonitor<EdgeOptions>(new EdgeOptions()), new FakeTimeProvider());

        var nodes = new EdgeNodesReader(new Proxy(rest, grpc), saturation).Read();

        Assert.Equal([("http://10.0.0.1:8000", 5), ("http://10.0.0.2:8000", 4)], nodes.Select(n => (n.Id, n.InFlight)));
        Assert.Equal([2], new EdgeNodesReader(new Proxy(rest), saturation).Read().Take(1).Select(n => n.InFlight)); // no gRPC cluster
    }

    private static ClusterState Cluster(string id, params (string Node, int InFlight)[] nodes)
    {
        var cluster = new ClusterState(id);
        var states = nodes.Select(n => new DestinationState(n.Node, new DestinationModel(new DestinationConfig { Address = n.Node })) { ConcurrentRequestCount = n.InFlight }).ToList();
        foreach (var state in states)
        {
            cluster.Destinations[state.DestinationId] = state;
        }

        cluster.DestinationsState = new ClusterDestinationsState(states, states);
        return cluster;
    }

    private sealed class Proxy(params ClusterState[] clusters) : IProxyStateLookup
    {
        public bool TryGetCluster(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ClusterState? cluster)
        {
            cluster = clusters.FirstOrDefault(c => c.ClusterId == id);
            return cluster is not null;
        }

        public IEnumerable<ClusterState> GetClusters() => clusters;

        public bool TryGetRoute(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RouteModel? route)
        {
            route = null;
            return false;
        }

        public IEnumerable<RouteModel> GetRoutes() => [];
    }
}
