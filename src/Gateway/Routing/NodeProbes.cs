using System.Net;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace ServingGateway.Routing;

/// <summary>
/// The active health probes of both clusters: GET of the cluster's health path on the destination's health address
/// (the node's REST URL, for the gRPC cluster too), over HTTP/2 or lower as the REST listener speaks, never the gRPC
/// cluster's HTTP/2-only policy (YARP's default probe takes the cluster's), which a REST listener without TLS refuses.
/// </summary>
internal sealed class NodeProbes : IProbingRequestFactory
{
    public HttpRequestMessage CreateRequest(ClusterModel cluster, DestinationModel destination)
    {
        var address = string.IsNullOrEmpty(destination.Config.Health) ? destination.Config.Address : destination.Config.Health;
        var path = cluster.Config.HealthCheck?.Active?.Path ?? "";
        return new HttpRequestMessage(HttpMethod.Get, new Uri(address.TrimEnd('/') + path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
    }
}
