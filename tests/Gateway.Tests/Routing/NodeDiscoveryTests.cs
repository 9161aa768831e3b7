using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Edge;
using ServingGateway.Routing;
using ServingGateway.TestSupport;
using Yarp.ReverseProxy.Configuration;

namespace ServingGateway.Gateway.Tests.Routing;

/// <summary>
/// --nodes-dns: the name is resolved again every Edge:DnsRefreshSeconds (a fake clock moves it on), and the
/// cluster follows the answers: nodes added and removed; failures and empty answers keep the nodes known.
/// </summary>
public sealed class NodeDiscoveryTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly EdgeOptions _options = new() { NodesDns = "nodes.test:8000", DnsRefreshSeconds = 10 };
    private readonly InMemoryConfigProvider _config;
    private readonly NodeDiscovery _discovery;
    private IPAddress[]? _answer = [IPAddress.Parse("10.0.0.1")];
    private int _resolutions;

    public NodeDiscoveryTests()
    {
        _config = new InMemoryConfigProvider(NodeDiscovery.Routes, [NodeDiscovery.Cluster([], _options)]);
        _discovery = new NodeDiscovery(_config, new FixedOptionsMonitor<EdgeOptions>(_options), _time, NullLogger<NodeDiscovery>.Instance, ResolveAsync);
    }

    public void Dispose() => _discovery.Dispose();

    private string[] Nodes => [.. _config.GetConfig().Clusters.Single(c => c.ClusterId == NodeDiscovery.ClusterId).Destinations!.Keys.Order(StringComparer.Ordinal)];

    private Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        Assert.Equal("nodes.test", host);
        Interlocked.Increment(ref _resolutions);
        return Volatile.Read(ref _answer) is { } answer ? Task.FromResult(answer) : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));
    }

    // Moves the clock one refresh period at a time until the nodes are `expected`.
    private Task NodesBecomeAsync(params string[] expected) => Poll.UntilAsync(
        () =>
        {
            _time.Advance(TimeSpan.FromSeconds(_options.DnsRefreshSeconds));
            return Nodes.SequenceEqual(expected);
        },
        $"the nodes to become {string.Join(", ", expected)}");

    // Moves the clock until `count` more resolutions have been made.
    private Task ResolvedAgainAsync(int count)
    {
        var target = Volatile.Read(ref _resolutions) + count;
        return Poll.UntilAsync(
            () =>
            {
                _time.Advance(TimeSpan.FromSeconds(_options.DnsRefreshSeconds));
                return Volatile.Read(ref _resolutions) >= target;
            },
            $"{count} more resolutions");
    }

    [Fact]
    public async Task Resolve_AnswersChange_NodesAddedAndRemoved()
    {
        await _discovery.StartAsync(CancellationToken.None);
        await Poll.UntilAsync(() => Nodes.SequenceEqual(["http://10.0.0.1:8000"]), "the first answer to be the nodes");

        Volatile.Write(ref _answer, [IPAddress.Parse("10.0.0.2"), IPAddress.Parse("10.0.0.1")]);
        await NodesBecomeAsync("http://10.0.0.1:8000", "http://10.0.0.2:8000");

        Volatile.Write(ref _answer, [IPAddress.Parse("10.0.0.2")]);
        await NodesBecomeAsync("http://10.0.0.2:8000");

        await _discovery.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Resolve_FailsOrAnswersNothing_NodesKnownAreKept()
    {
        await _discovery.StartAsync(CancellationToken.None);
        await Poll.UntilAsync(() => Nodes.SequenceEqual(["http://10.0.0.1:8000"]), "the first answer to be the nodes");

        Volatile.Write(ref _answer, null);
        await ResolvedAgainAsync(2);
        var afterFailures = Nodes;
        Volatile.Write(ref _answer, []);
        await ResolvedAgainAsync(2);
        var afterEmpty = Nodes;

        Assert.Equal(["http://10.0.0.1:8000"], afterFailures);
        Assert.Equal(["http://10.0.0.1:8000"], afterEmpty);
        await _discovery.StopAsync(CancellationToken.None);
    }
}
