using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using ServingGateway.RateLimiting;
using ServingGateway.Routing;
using Yarp.ReverseProxy.Model;

namespace ServingGateway.Benchmarks;

/// <summary>The edge's per-request decisions: a pick on the consistent-hash ring, a token from a bucket.</summary>
[MemoryDiagnoser]
public class EdgeBenchmarks
{
    private readonly LocalTokenBuckets _buckets = new();
    private readonly RateLimitRule _rule = new() { Rate = 1_000_000, Burst = 1_000_000 };
    private readonly DefaultHttpContext _context = new();
    private DestinationState[] _nodes = [];
    private ConsistentHashRing<DestinationState> _ring = null!;

    /// <summary>Nodes behind the edge.</summary>
    [Params(3, 16)]
    public int Nodes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _nodes = [.. Enumerable.Range(0, Nodes).Select(i => new DestinationState($"http://10.0.0.{i}:8000"))];
        _ring = new ConsistentHashRing<DestinationState>([.. _nodes.Select(n => (n.DestinationId, n))], 160);
        _context.Request.Path = "/v2/models/mlp/infer";
        _context.Request.RouteValues["model"] = "mlp";
    }

    [GlobalCleanup]
    public void Cleanup() => _buckets.Dispose();

    [Benchmark]
    public DestinationState RingPick() =>
        ConsistentHashLoadBalancingPolicy.Pick(_ring, RoutingKey.Of(_context.Request), _nodes, 1.25);

    [Benchmark]
    public bool TokenBucket() => _buckets.TakeAsync("default\nclient", _rule, CancellationToken.None).Result.Allowed;
}
