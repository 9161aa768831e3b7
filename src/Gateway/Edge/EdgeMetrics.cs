using Prometheus;
using ServingGateway.Inference.Metrics;
using ServingGateway.Observability;

namespace ServingGateway.Edge;

/// <summary>
/// The edge pipeline's Prometheus metrics: in the standalone role they join the node's registry, in the
/// edge role they have a registry of their own. Labels are few and fixed: limits and nodes come from
/// configuration, never from requests (refusals are counted by limit, never by key).
/// </summary>
internal sealed class EdgeMetrics
{
    private readonly Counter _rateLimited;
    private readonly Counter.Child _decidedInRedis;
    private readonly Counter.Child _decidedLocally;
    private readonly Counter _forwarded;
    private readonly Counter _retries;
    private readonly Counter _saturated;
    private readonly Gauge _inFlight;
    private readonly Gauge _available;
    private readonly IServiceProvider _services;
    private readonly HashSet<string> _nodesShown = [];

    public EdgeMetrics(IServiceProvider services)
    {
        _services = services;
        if (services.GetService(typeof(NodeMetrics)) is NodeMetrics node)
        {
            Registry = node.Registry;
        }
        else
        {
            Registry = Prometheus.Metrics.NewCustomRegistry();
            DotNetStats.Register(Registry);
        }

        var factory = MetricFactories.For(Registry);
        _rateLimited = factory.CreateCounter("sg_rate_limited_total", "Requests refused with 429, by limit (\"default\" or the model's own).", ["limit"]);
        var decisions = factory.CreateCounter("sg_rate_limit_decisions_total", "Rate-limit decisions by the store that took them: redis (shared by all edges) or local (no Redis configured, or Redis unavailable).", ["store"]);
        _decidedInRedis = decisions.WithLabels("redis");
        _decidedLocally = decisions.WithLabels("local");
        _forwarded = factory.CreateCounter("sg_edge_forwarded_total", "Requests the edge forwarded, by node and outcome (success, client_error, server_error, proxy_error).", ["node", "outcome"]);
        _retries = factory.CreateCounter("sg_edge_retries_total", "Requests sent again to the next node because their node refused the connection, by that node.", ["node"]);
        _saturated = factory.CreateCounter("sg_edge_node_saturated_total", "503 answers with Retry-After from a node (overload or full queue); each passes the node over for that long, by node.", ["node"]);
        _inFlight = factory.CreateGauge("sg_edge_node_in_flight", "Requests this edge is forwarding to each node now (YARP's count, the one the bounded-load ring reads), by node.", ["node"]);
        _available = factory.CreateGauge("sg_edge_node_available", "1 while the edge routes to the node (its health checks pass), 0 while it passes it over, by node.", ["node"]);
        Registry.AddBeforeCollectCallback(ShowNodes);
    }

    /// <summary>The registry /metrics exports.</summary>
    public CollectorRegistry Registry { get; }

    public void RateLimited(string limit) => _rateLimited.WithLabels(limit).Inc();

    public void Decided(bool inRedis) => (inRedis ? _decidedInRedis : _decidedLocally).Inc();

    public void Forwarded(string node, int statusCode, bool proxyError) =>
        _forwarded.WithLabels(node, proxyError ? "proxy_error" : statusCode < 400 ? "success" : statusCode < 500 ? "client_error" : "server_error").Inc();

    public void Retried(string node) => _retries.WithLabels(node).Inc();

    public void Saturated(string node) => _saturated.WithLabels(node).Inc();

    // At each scrape: the nodes of the edge's cluster as routing sees them (EdgeNodesReader, the status page's reader
    // too; registered on an edge only); a node that left the cluster loses its series.
    private void ShowNodes()
    {
        if (_services.GetService(typeof(EdgeNodesReader)) is not EdgeNodesReader reader)
        {
            return;
        }

        lock (_nodesShown)
        {
            var nodes = reader.Read();
            foreach (var node in nodes)
            {
                _inFlight.WithLabels(node.Id).Set(node.InFlight);
                _available.WithLabels(node.Id).Set(node.Available ? 1 : 0);
            }

            foreach (var gone in _nodesShown.Where(n => !nodes.Any(node => node.Id == n)).ToList())
            {
                _inFlight.RemoveLabelled(gone);
                _available.RemoveLabelled(gone);
                _nodesShown.Remove(gone);
            }

            _nodesShown.UnionWith(nodes.Select(node => node.Id));
        }
    }
}
