using ServingGateway.Auth;
using ServingGateway.Routing;
using Yarp.ReverseProxy.Configuration;

namespace ServingGateway.Gateway.Tests.Routing;

public class NodeDiscoveryRoutesTests
{
    [Fact]
    public void Routes_OnePerProtectedNodeEndpoint_EachCarriesItsRole_NoCatchAll()
    {
        var protectedEndpoints = NodeEndpointRoles.All.Where(e => e.Role != GatewayRoles.None && !e.IsGrpc).ToList();

        Assert.Equal(protectedEndpoints.Count, NodeDiscovery.Routes.Count);
        foreach (var endpoint in protectedEndpoints)
        {
            var route = Assert.Single(NodeDiscovery.Routes, r => r.Match.Path == endpoint.Pattern && r.Match.Methods!.SequenceEqual([endpoint.Method]));
            Assert.Equal(endpoint.Role, NodeDiscovery.RoleOf(route));
        }

        Assert.DoesNotContain(NodeDiscovery.Routes, r => r.Match.Path!.Contains("**", StringComparison.Ordinal));
        Assert.DoesNotContain(NodeDiscovery.Routes, r => r.Match.Path!.Contains("health", StringComparison.Ordinal));
    }

    [Fact]
    public void RoleOf_RouteWithoutAKnownRole_NeedsAdmin()
    {
        Assert.Equal(GatewayRoles.Admin, NodeDiscovery.RoleOf(new RouteConfig { RouteId = "x" }));
        Assert.Equal(GatewayRoles.Admin, NodeDiscovery.RoleOf(new RouteConfig { RouteId = "x", Metadata = new Dictionary<string, string> { ["Role"] = "root" } }));
    }
}
