namespace ServingGateway.Edge;

/// <summary>
/// The edge role's settings, bound from the configuration section <c>Edge</c>: which nodes to forward to
/// and how to route, check and limit.
/// </summary>
public sealed class EdgeOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Edge";

    /// <summary>Node base URLs (http://host:port). Switch: <c>--node URL</c>, repeatable.</summary>
    public List<string> Nodes { get; set; } = [];

    /// <summary>
    /// A DNS name and port whose addresses are the nodes (a Kubernetes headless Service), re-resolved every
    /// <see cref="DnsRefreshSeconds"/>. Switch: <c>--nodes-dns NAME:PORT</c>.
    /// </summary>
    public string? NodesDns { get; set; }

    /// <summary>
    /// The port of every node's gRPC listener (its <c>--grpc-urls</c>): the edge forwards gRPC to the node's host (from
    /// its URL or DNS address) on this port, with the node URL's scheme (https nodes: https, with <see cref="NodeCaFile"/>).
    /// Default 8001 (Triton's, the nodes' default); 1 to 65535. Nodes that share one host need addresses of their own.
    /// </summary>
    public int NodeGrpcPort { get; set; } = 8001;

    /// <summary>How often <see cref="NodesDns"/> is resolved again. Default 10 s; 1 to 3600.</summary>
    public double DnsRefreshSeconds { get; set; } = 10;

    /// <summary>Points per node on the consistent-hash ring. Default 160; 1 to 10000.</summary>
    public int VirtualNodes { get; set; } = 160;

    /// <summary>
    /// Bounded load: a node is passed over while its in-flight requests reach this factor times the average.
    /// Default 1.25; 1 to 100.
    /// </summary>
    public double LoadFactor { get; set; } = 1.25;

    /// <summary>Active health checks of GET /v2/health/ready on every node, this often. Default 2 s; 0.1 to 3600.</summary>
    public double HealthCheckIntervalSeconds { get; set; } = 2;

    /// <summary>
    /// Passive health checks: a node whose requests fail at the transport (connection refused or reset)
    /// at more than this rate is taken out. Default 0.3; 0.01 to 1.
    /// </summary>
    public double PassiveFailureRate { get; set; } = 0.3;

    /// <summary>The window over which the passive check counts transport failures. Default 10 s; 1 to 3600.</summary>
    public double PassiveWindowSeconds { get; set; } = 10;

    /// <summary>How long a node taken out by the passive check stays out before it is tried again. Default 5 s; 0.1 to 3600.</summary>
    public double ReactivationSeconds { get; set; } = 5;

    /// <summary>
    /// A node that answers 503 with Retry-After (its queue or overload refusal) is passed over for that long,
    /// but never longer than this, while another node can take its requests. Default 30 s; 1 to 3600.
    /// </summary>
    public double MaxSaturationSeconds { get; set; } = 30;

    /// <summary>Largest request body the edge forwards, in bytes (streamed, never buffered whole). Default 64 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// A PEM file of the CA certificate(s) that signed the nodes' certificates, for nodes reached over
    /// https: the edge trusts these roots alone (not the system's) and still checks the node's name, so
    /// a node whose certificate another CA signed is refused (502), never served. Unset: the system's
    /// trusted roots. Read at start.
    /// </summary>
    public string? NodeCaFile { get; set; }

    /// <summary>
    /// The key this edge presents to its nodes (<c>Authorization: Bearer KEY</c>), one of their <c>Node:Keys</c>.
    /// A secret: set it through the environment (<c>Edge__NodeKey</c>) or the --config file, never on a shared
    /// command line. Clients' own keys are never forwarded.
    /// </summary>
    public string? NodeKey { get; set; }

    /// <summary>Time a client has to send its request headers. Default 10 s; 1 to 600.</summary>
    public double RequestHeadersTimeoutSeconds { get; set; } = 10;

    /// <summary>Lists every invalid setting; <paramref name="edgeRole"/> also requires nodes.</summary>
    public IEnumerable<string> Validate(bool edgeRole)
    {
        if (edgeRole && Nodes.Count == 0 && string.IsNullOrWhiteSpace(NodesDns))
        {
            yield return "role edge needs nodes: --node URL (repeatable), Edge:Nodes, or --nodes-dns NAME:PORT";
        }

        foreach (var node in Nodes)
        {
            if (!Uri.TryCreate(node, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                yield return $"Edge:Nodes: '{node}' is not an http(s) URL";
            }
        }

        if (NodesDns is { Length: > 0 } dns && !TryParseDns(dns, out _, out _))
        {
            yield return $"Edge:NodesDns (--nodes-dns) must be NAME:PORT; it is '{dns}'";
        }

        if (NodeGrpcPort is < 1 or > 65535)
        {
            yield return $"Edge:NodeGrpcPort must be from 1 to 65535; it is {NodeGrpcPort}.";
        }

        if (DnsRefreshSeconds is < 1 or > 3600)
        {
            yield return $"Edge:DnsRefreshSeconds must be from 1 to 3600; it is {DnsRefreshSeconds}.";
        }

        if (VirtualNodes is < 1 or > 10_000)
        {
            yield return $"Edge:VirtualNodes must be from 1 to 10000; it is {VirtualNodes}.";
        }

        if (LoadFactor is < 1 or > 100)
        {
            yield return $"Edge:LoadFactor must be from 1 to 100; it is {LoadFactor}.";
        }

        if (HealthCheckIntervalSeconds is < 0.1 or > 3600)
        {
            yield return $"Edge:HealthCheckIntervalSeconds must be from 0.1 to 3600; it is {HealthCheckIntervalSeconds}.";
        }

        if (PassiveFailureRate is < 0.01 or > 1)
        {
            yield return $"Edge:PassiveFailureRate must be from 0.01 to 1; it is {PassiveFailureRate}.";
        }

        if (PassiveWindowSeconds is < 1 or > 3600)
        {
            yield return $"Edge:PassiveWindowSeconds must be from 1 to 3600; it is {PassiveWindowSeconds}.";
        }

        if (ReactivationSeconds is < 0.1 or > 3600)
        {
            yield return $"Edge:ReactivationSeconds must be from 0.1 to 3600; it is {ReactivationSeconds}.";
        }

        if (MaxSaturationSeconds is < 1 or > 3600)
        {
            yield return $"Edge:MaxSaturationSeconds must be from 1 to 3600; it is {MaxSaturationSeconds}.";
        }

        if (MaxRequestBodyBytes is < 1024 or > int.MaxValue)
        {
            yield return $"Edge:MaxRequestBodyBytes must be from 1024 to {int.MaxValue}; it is {MaxRequestBodyBytes}.";
        }

        if (NodeCaFile is { Length: > 0 } caFile && NodeCertificates.TryLoadRoots(caFile, out _) is { } caError)
        {
            yield return $"Edge:NodeCaFile: {caError}";
        }

        if (RequestHeadersTimeoutSeconds is < 1 or > 600)
        {
            yield return $"Edge:RequestHeadersTimeoutSeconds must be from 1 to 600; it is {RequestHeadersTimeoutSeconds}.";
        }
    }

    /// <summary>Splits NAME:PORT.</summary>
    public static bool TryParseDns(string value, out string host, out int port)
    {
        var colon = value.LastIndexOf(':');
        host = colon > 0 ? value[..colon] : "";
        port = 0;
        return colon > 0 && int.TryParse(value[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port)
            && port is > 0 and < 65536;
    }
}
