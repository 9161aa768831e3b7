using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using ServingGateway.Auth;
using ServingGateway.Deployments.Fleet;
using ServingGateway.Edge;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;

namespace ServingGateway.Routing;

/// <summary>
/// Keeps YARP's routes (one per protected node endpoint) and one cluster ("nodes") up to date: the nodes of Edge:Nodes, or the addresses
/// Edge:NodesDns resolves to, resolved again every Edge:DnsRefreshSeconds (a headless Service grows and
/// shrinks with its StatefulSet). Destinations are keyed by URL, so a node keeps its place on the ring.
/// </summary>
internal sealed partial class NodeDiscovery : BackgroundService
{
    /// <summary>The cluster every OIP REST request is forwarded to.</summary>
    public const string ClusterId = "nodes";

    /// <summary>
    /// The cluster every gRPC request is forwarded to: the same nodes under the same ids (so a model hashes to the same
    /// node either way), at their gRPC addresses (<see cref="EdgeOptions.NodeGrpcPort"/>), over HTTP/2.
    /// </summary>
    public const string GrpcClusterId = "nodes-grpc";

    private readonly InMemoryConfigProvider _config;
    private readonly IOptionsMonitor<EdgeOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<NodeDiscovery> _logger;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;
    private string[] _current = [];

    /// <summary>
    /// Discovery through <paramref name="resolve"/> (default: the system's resolver,
    /// <see cref="Dns.GetHostAddressesAsync(string, CancellationToken)"/>; tests give their own answers).
    /// </summary>
    public NodeDiscovery(
        InMemoryConfigProvider config,
        IOptionsMonitor<EdgeOptions> options,
        TimeProvider time,
        ILogger<NodeDiscovery> logger,
        Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
    {
        _config = config;
        _options = options;
        _time = time;
        _logger = logger;
        _resolve = resolve ?? Dns.GetHostAddressesAsync;
        Apply([.. options.CurrentValue.Nodes.Select(Normalize)]);
    }

    /// <summary>The route metadata key that carries the role a forwarded endpoint needs (infer, deploy, admin).</summary>
    public const string RoleMetadata = "Role";

    /// <summary>
    /// The YARP routes: one per REST node endpoint that needs a role (health is the edge's own), with the node's
    /// method and route pattern, carrying that role, to <see cref="ClusterId"/>; and one per gRPC method (the public
    /// ServerLive and ServerReady too: a node answers them) to <see cref="GrpcClusterId"/>, carrying its role and the
    /// field that names its model. Repository load and unload are not forwarded: the edge sends them to every node
    /// (EdgeRepositoryEndpoints). Nothing else is forwarded: an unknown path is a 404 here.
    /// </summary>
    public static IReadOnlyList<RouteConfig> Routes { get; } =
    [
        .. NodeEndpointRoles.All.Where(e => e.Role != GatewayRoles.None && !e.IsGrpc && !EdgeRepositoryEndpoints.FannedOut.Contains(e.Id)).Select(e => Route(e, ClusterId)),
        .. NodeEndpointRoles.All.Where(e => e.IsGrpc).Select(e => Route(e, GrpcClusterId)),
    ];

    private static RouteConfig Route(NodeEndpointRoles.NodeEndpoint endpoint, string cluster)
    {
        var metadata = new Dictionary<string, string> { [RoleMetadata] = RequiredRole.Name(endpoint.Role) };
        if (endpoint.ModelField is { } field)
        {
            metadata[GrpcModelField.RouteMetadata] = field.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return new RouteConfig
        {
            RouteId = "oip-" + endpoint.Id,
            ClusterId = cluster,
            Match = new RouteMatch { Path = endpoint.Pattern, Methods = [endpoint.Method] },
            Metadata = metadata,
        };
    }

    /// <summary>The <see cref="GrpcModelField"/> a YARP route carries, or null.</summary>
    public static GrpcModelField? ModelFieldOf(RouteConfig route) =>
        route.Metadata?.TryGetValue(GrpcModelField.RouteMetadata, out var text) == true
        && int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var field) ? new GrpcModelField(field) : null;

    /// <summary>The role a YARP route carries; a route without a known one needs admin (never public).</summary>
    public static GatewayRoles RoleOf(RouteConfig route) =>
        route.Metadata?.TryGetValue(RoleMetadata, out var name) != true || name is null ? GatewayRoles.Admin
        : name == RequiredRole.Name(GatewayRoles.None) ? GatewayRoles.None
        : RequiredRole.Parse(name) ?? GatewayRoles.Admin;

    /// <summary>Both clusters, REST and gRPC, for <paramref name="nodes"/>.</summary>
    public static IReadOnlyList<ClusterConfig> Clusters(IReadOnlyList<string> nodes, EdgeOptions options) => [Cluster(nodes, options), GrpcCluster(nodes, options)];

    /// <summary>The REST cluster for <paramref name="nodes"/> with the edge's routing and health settings.</summary>
    public static ClusterConfig Cluster(IReadOnlyList<string> nodes, EdgeOptions options) =>
        NewCluster(ClusterId, nodes.ToDictionary(n => n, n => new DestinationConfig { Address = n }, StringComparer.Ordinal), null, options);

    /// <summary>
    /// The gRPC cluster: each node under its REST URL (its id), at its gRPC address, with its REST URL as the health
    /// address, so the node's <c>/v2/health/ready</c> decides for both clusters (probed over HTTP/1.1 or 2, as REST;
    /// <see cref="NodeProbes"/>); forwarded over HTTP/2 only (h2c for http://, as gRPC needs), https for https nodes.
    /// </summary>
    public static ClusterConfig GrpcCluster(IReadOnlyList<string> nodes, EdgeOptions options) => NewCluster(
        GrpcClusterId,
        nodes.ToDictionary(n => n, n => new DestinationConfig { Address = GrpcAddress(n, options.NodeGrpcPort), Health = n }, StringComparer.Ordinal),
        new ForwarderRequestConfig { Version = System.Net.HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact },
        options);

    /// <summary>A node's gRPC address: its REST URL's scheme and host, on <paramref name="port"/>.</summary>
    public static string GrpcAddress(string node, int port) => new UriBuilder(node) { Port = port }.Uri.ToString().TrimEnd('/');

    private static ClusterConfig NewCluster(string id, Dictionary<string, DestinationConfig> destinations, ForwarderRequestConfig? request, EdgeOptions options) => new()
    {
        ClusterId = id,
        LoadBalancingPolicy = ConsistentHashLoadBalancingPolicy.PolicyName,
        Destinations = destinations,
        HttpRequest = request,
        HealthCheck = new HealthCheckConfig
        {
            Active = new ActiveHealthCheckConfig
            {
                Enabled = true,
                Interval = TimeSpan.FromSeconds(options.HealthCheckIntervalSeconds),
                Timeout = TimeSpan.FromSeconds(Math.Max(1, options.HealthCheckIntervalSeconds)),
                Policy = HealthCheckConstants.ActivePolicy.ConsecutiveFailures,
                Path = "/v2/health/ready",
            },
            Passive = new PassiveHealthCheckConfig
            {
                Enabled = true,
                Policy = HealthCheckConstants.PassivePolicy.TransportFailureRate,
                ReactivationPeriod = TimeSpan.FromSeconds(options.ReactivationSeconds),
            },
            AvailableDestinationsPolicy = HealthCheckConstants.AvailableDestinations.HealthyOrPanic,
        },
        Metadata = new Dictionary<string, string>
        {
            ["ConsecutiveFailuresHealthPolicy.Threshold"] = "2",
            ["TransportFailureRateHealthPolicy.RateLimit"] = options.PassiveFailureRate.ToString(System.Globalization.CultureInfo.InvariantCulture),
        },
    };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = _options.CurrentValue;
        if (string.IsNullOrWhiteSpace(options.NodesDns) || !EdgeOptions.TryParseDns(options.NodesDns, out var host, out var port))
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var addresses = await _resolve(host, stoppingToken).ConfigureAwait(false);
                var nodes = addresses
                    .Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
                    .Select(a => new UriBuilder("http", a.ToString(), port).Uri.ToString().TrimEnd('/'))
                    .Order(StringComparer.Ordinal)
                    .ToArray();
                if (nodes.Length == 0)
                {
                    Log.DnsEmpty(_logger, host);
                }
                else if (!nodes.SequenceEqual(_current))
                {
                    Log.DnsChanged(_logger, host, string.Join(", ", nodes));
                    Apply(nodes);
                }
            }
            catch (SocketException ex)
            {
                Log.DnsFailed(_logger, host, ex.Message); // keep the nodes we had
            }

            await Task.Delay(TimeSpan.FromSeconds(_options.CurrentValue.DnsRefreshSeconds), _time, stoppingToken).ConfigureAwait(false);
        }
    }

    private void Apply(string[] nodes)
    {
        _current = nodes;
        _config.Update(Routes, Clusters(nodes, _options.CurrentValue));
    }

    private static string Normalize(string url) => url.TrimEnd('/');

    private static partial class Log
    {
        [LoggerMessage(60, LogLevel.Information, "Nodes from DNS {Host}: {Nodes}")]
        public static partial void DnsChanged(ILogger logger, string host, string nodes);

        [LoggerMessage(61, LogLevel.Warning, "DNS {Host} resolved to no address; keeping the nodes known")]
        public static partial void DnsEmpty(ILogger logger, string host);

        [LoggerMessage(62, LogLevel.Warning, "DNS {Host} failed ({Reason}); keeping the nodes known")]
        public static partial void DnsFailed(ILogger logger, string host, string reason);
    }
}
