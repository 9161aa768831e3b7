using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Shadow mirroring on an edge in front of two node processes serving model scaled (version 2: y = 2x, version 3:
/// y = 3x): the edge sends each mirrored request to a node's version 3 over HTTP and compares its answer with the
/// caller's, divergence exactly 0.5.
/// </summary>
public sealed class ShadowEdgeTests : IAsyncLifetime
{
    private readonly TempModelRepository _models = ShadowTests.ScaledRepository();
    private NodeProcess[] _nodes = [];
    private GatewayServer _edge = null!;

    public async Task InitializeAsync()
    {
        _nodes = await Task.WhenAll(Enumerable.Range(1, 2).Select(i => NodeProcess.StartNodeAsync(_models.Path, $"shadow-node-{i}")));
        _edge = await GatewayServer.StartAsync(RepoPaths.TestModels,
        [
            "--role", "edge", "--Auth:AllowAnonymous", "true", "--Edge:HealthCheckIntervalSeconds", "0.5",
            .. _nodes.SelectMany(n => new[] { "--node", n.Url }),
        ]);
    }

    public async Task DisposeAsync()
    {
        await _edge.DisposeAsync();
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        _models.Dispose();
    }

    [Fact]
    public async Task Mirrored_ThroughTheEdge_DivergenceExactlyHalfOnTheEdgesMetrics()
    {
        const int Requests = 8;

        await ShadowTests.MirrorCallersAsync(_edge, Requests);
        await Poll.UntilAsync(async () => await ShadowTests.SeriesAsync(_edge, "sg_shadow_requests_total", "outcome=\"compared\"") == Requests, "every mirrored request compared");

        Assert.Equal(Requests, await ShadowTests.SeriesAsync(_edge, "sg_shadow_divergence_count", ""));
        Assert.Equal(0.5 * Requests, await ShadowTests.SeriesAsync(_edge, "sg_shadow_divergence_sum", ""));
        Assert.Equal(0, await ShadowTests.SeriesAsync(_edge, "sg_shadow_requests_total", "outcome=\"error\""));
    }
}
