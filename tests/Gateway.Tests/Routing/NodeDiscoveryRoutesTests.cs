using ServingGateway.Auth;
using ServingGateway.Deployments.Fleet;
using ServingGateway.Edge;
using ServingGateway.Routing;
using Yarp.ReverseProxy.Configuration;

namespace ServingGateway.Gateway.Tests.Routing;

public class NodeDiscoveryRoutesTests
{
    [Fact]
    public void Routes_OnePerProtectedNodeEndpoint_EachCarriesItsRole_NoCatchAll()
    {
        var rest = NodeDiscovery.Routes.Where(r => r.ClusterId == NodeDiscovery.ClusterId).ToList();
        var protectedEndpoints = NodeEndpointRoles.All.Where(e => e.Role != GatewayRoles.None && !e.IsGrpc).ToList();

        // Every protected endpoint is forwarded by a route of its own, but repository load and unload, which the
        // edge sends to every node itself (EdgeRepositoryEndpoints) and which no route may forward to one node.
        var fannedOut = protectedEndpoints.Where(e => EdgeRepositoryEndpoints.FannedOut.Contains(e.Id)).ToList();
        Assert.Equal(["POST /v2/repository/models/{model}/load", "POST /v2/repository/models/{model}/unload"], fannedOut.Select(e => $"{e.Method} {e.Pattern}"));
        Assert.Equal(protectedEndpoints.Count - fannedOut.Count, rest.Count);
        foreach (var endpoint in protectedEndpoints)
        {
            if (fannedOut.Contains(endpoint))
            {
                Assert.DoesNotContain(rest, r => r.Match.Path == endpoint.Pattern);
                continue;
            }

            var route = Assert.Single(rest, r => r.Match.Path == endpoint.Pattern && r.Match.Methods!.SequenceEqual([endpoint.Method]));
            Assert.Equal(endpoint.Role, NodeDiscovery.RoleOf(route));
        }

        Assert.DoesNotContain(NodeDiscovery.Routes, r => r.Match.Path!.Contains("**", StringComparison.Ordinal));
        Assert.DoesNotContain(NodeDiscovery.Routes, r => r.Match.Path!.Contains("health", StringComparison.Ordinal));
    }

    [Fact]
    public void Routes_GrpcMethods_ToTheGrpcClusterWithTheirRoleAndModelField()
    {
        var grpc = NodeDiscovery.Routes.Where(r => r.ClusterId == NodeDiscovery.GrpcClusterId).ToList();
        var methods = NodeEndpointRoles.All.Where(e => e.IsGrpc).ToList();

        Assert.Equal(methods.Count, grpc.Count);
        foreach (var method in methods)
        {
            var route = Assert.Single(grpc, r => r.Match.Path == method.Pattern && r.Match.Methods!.SequenceEqual(["POST"]));
            Assert.Equal(method.Role, NodeDiscovery.RoleOf(route));
            Assert.Equal(method.ModelField, NodeDiscovery.ModelFieldOf(route)?.Field);
        }

        // The public health methods a node answers; the repository requests name their model in field 2.
        Assert.Equal(GatewayRoles.None, NodeDiscovery.RoleOf(Assert.Single(grpc, r => r.Match.Path == "/inference.GRPCInferenceService/ServerReady")));
        Assert.Equal(2, NodeDiscovery.ModelFieldOf(Assert.Single(grpc, r => r.Match.Path == "/inference.GRPCInferenceService/RepositoryModelLoad"))?.Field);
        Assert.Equal(1, NodeDiscovery.ModelFieldOf(Assert.Single(grpc, r => r.Match.Path == "/inference.GRPCInferenceService/ModelInfer"))?.Field);
        Assert.Null(NodeDiscovery.ModelFieldOf(Assert.Single(grpc, r => r.Match.Path == "/inference.GRPCInferenceService/RepositoryIndex")));
    }

    [Fact]
    public void GrpcCluster_SameNodeIdsAtTheGrpcPort_HealthFromRest_Http2Only()
    {
        var options = new EdgeOptions { NodeGrpcPort = 9001 };
        string[] nodes = ["http://10.0.0.1:8000", "https://node-2.nodes:8000"];

        var cluster = NodeDiscovery.GrpcCluster(nodes, options);

        Assert.Equal(nodes, cluster.Destinations!.Keys);
        Assert.Equal("http://10.0.0.1:9001", cluster.Destinations["http://10.0.0.1:8000"].Address);
        Assert.Equal("https://node-2.nodes:9001", cluster.Destinations["https://node-2.nodes:8000"].Address);
        Assert.All(nodes, n => Assert.Equal(n, cluster.Destinations[n].Health));
        Assert.Equal(System.Net.HttpVersion.Version20, cluster.HttpRequest!.Version);
        Assert.Equal(System.Net.Http.HttpVersionPolicy.RequestVersionExact, cluster.HttpRequest.VersionPolicy);
        Assert.Equal(NodeDiscovery.Cluster(nodes, options).HealthCheck, cluster.HealthCheck);
        Assert.Equal(NodeDiscovery.Cluster(nodes, options).LoadBalancingPolicy, cluster.LoadBalancingPolicy);
    }

    [Fact]
    public void RoleOf_RouteWithoutAKnownRole_NeedsAdmin()
    {
        Assert.Equal(GatewayRoles.Admin, NodeDiscovery.RoleOf(new RouteConfig { RouteId = "x" }));
        Assert.Equal(GatewayRoles.Admin, NodeDiscovery.RoleOf(new RouteConfig { RouteId = "x", Metadata = new Dictionary<string, string> { ["Role"] = "root" } }));
    }
}
