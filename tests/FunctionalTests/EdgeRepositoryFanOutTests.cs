using System.Net;
using System.Text.Json;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Through an edge, the repository extension's load and unload reach every node (issue 13 item 1), not only the node
/// the model hashes to; a failure on any node is the caller's answer, with each failing node named.
/// </summary>
public sealed class EdgeRepositoryFanOutTests : IAsyncLifetime
{
    private readonly TempModelRepository _models = new("mlp");
    private NodeProcess[] _nodes = [];
    private GatewayServer? _edge;

    public async Task InitializeAsync()
    {
        _nodes = await Task.WhenAll(Enumerable.Range(1, 2).Select(i => NodeProcess.StartNodeAsync(_models.Path, $"fan-{i}")));
        _edge = await GatewayServer.StartAsync(RepoPaths.TestModels,
        [
            "--role", "edge", "--Auth:AllowAnonymous", "true", "--Auth:AnonymousRoles:0", "infer", "--Auth:AnonymousRoles:1", "deploy", "--Edge:HealthCheckIntervalSeconds", "0.5",
            .. _nodes.SelectMany(n => new[] { "--node", n.Url }),
        ]);
    }

    public async Task DisposeAsync()
    {
        if (_edge is not null)
        {
            await _edge.DisposeAsync();
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        _models.Dispose();
    }

    [Fact]
    public async Task UnloadThenLoad_ThroughTheEdge_EveryNodeFollows()
    {
        Assert.All(await ReadyOnEachNodeAsync("mlp"), ready => Assert.True(ready));

        using (var unload = await _edge!.Client.PostAsync("v2/repository/models/mlp/unload", null))
        {
            Assert.Equal(HttpStatusCode.OK, unload.StatusCode);
        }

        Assert.All(await ReadyOnEachNodeAsync("mlp"), ready => Assert.False(ready)); // both nodes, not only the one mlp hashes to

        using (var load = await _edge.Client.PostAsync("v2/repository/models/mlp/load", Oip.Json("{}")))
        {
            Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        }

        Assert.All(await ReadyOnEachNodeAsync("mlp"), ready => Assert.True(ready));
    }

    [Fact]
    public async Task Load_UnknownModel_EveryNodesAnswerAnd404()
    {
        using var load = await _edge!.Client.PostAsync("v2/repository/models/nosuch/load", null);

        Assert.Equal(HttpStatusCode.NotFound, load.StatusCode);
        var error = await ErrorOfAsync(load);
        Assert.Contains("failed on 2 of 2 nodes", error, StringComparison.Ordinal);
        Assert.All(_nodes, n => Assert.Contains(n.Url, error, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Load_OneNodeDown_502NamingIt()
    {
        var down = _nodes[1];
        down.Kill();
        await down.WaitForExitAsync(TimeSpan.FromSeconds(30));

        using var load = await _edge!.Client.PostAsync("v2/repository/models/mlp/load", null);

        Assert.Equal(HttpStatusCode.BadGateway, load.StatusCode);
        var error = await ErrorOfAsync(load);
        Assert.Contains("failed on 1 of 2 nodes", error, StringComparison.Ordinal);
        Assert.Contains(down.Url + ": unreachable", error, StringComparison.Ordinal);
        Assert.DoesNotContain(_nodes[0].Url, error, StringComparison.Ordinal);
    }

    private async Task<bool[]> ReadyOnEachNodeAsync(string model) =>
        await Task.WhenAll(_nodes.Select(async n =>
        {
            using var response = await n.Client.GetAsync($"v2/models/{model}/ready");
            return response.StatusCode == HttpStatusCode.OK;
        }));

    private static async Task<string> ErrorOfAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("error").GetString()!;
    }
}
