using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using ServingGateway.Auth;
using ServingGateway.Edge;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;

namespace ServingGateway.Routing;

/// <summary>
/// Keeps YARP's routes (one per protected node endpoint) and one cluster ("nodes") up to date: the nodes of Edge:Nodes, or the addresses
/// Edge:NodesDns resolves to, resolved again every Edge:DnsRefreshSeconds (a headless Service grows and
/// shrinks with its StatefulSet). Destinations are keyed by URL, so a node keeps its place on the ring.
/// </summary>
internal sealed partial class NodeDiscovery : BackgroundService
{
    /// <summary>The cluster every OIP request is forwarded to.</summary>
    public const string ClusterId = "nodes";

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
    /// The YARP routes: one per node endpoint that needs a role (health is the edge's own), with the node's
    /// method and route pattern, carrying that role. Nothing else is forwarded: an unknown path is a 404 here.
    /// </summary>
    public static IReadOnlyList<RouteConfig> Routes { get; } =
    [
        .. NodeEndpointRoles.All.Where(e => e.Role != GatewayRoles.None && !e.IsGrpc).Select(e => new RouteConfig
        {
            RouteId = "oip-" + e.Id,
            ClusterId = ClusterId,
            Match = new RouteMatch { Path = e.Pattern, Methods = [e.Method] },
            Metadata = new Dictionary<string, string> { [RoleMetadata] = RequiredRole.Name(e.Role) },
        }),
    ];

    /// <summary>The role a YARP route carries; a route without a known one needs admin (never public).</summary>
    public static GatewayRoles RoleOf(RouteConfig route) =>
        route.Metadata?.TryGetValue(RoleMetadata, out var name) == true && RequiredRole.Parse(name) is { } role ? role : GatewayRoles.Admin;

    /// <summary>The cluster for <paramref name="nodes"/> with the edge's routing and health settings.</summary>
    public static ClusterConfig Cluster(IReadOnlyList<string> nodes, EdgeOptions options) => new()
    {
        ClusterId = ClusterId,
        LoadBalancingPolicy = ConsistentHashLoadBalancingPolicy.PolicyName,
        Destinations = nodes.ToDictionary(n => n, n => new DestinationConfig { Address = n }, StringComparer.Ordinal),
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
        _config.Update(Routes, [Cluster(nodes, _options.CurrentValue)]);
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
