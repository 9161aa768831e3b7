using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ServingGateway.Auth;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Version uploads through an edge (issue 13 item 1): the edge sends the upload to every node (each with its own
/// model repository, behind a node key); 201/200 only when every node stored it, 502 naming the nodes that did not.
/// </summary>
public sealed class VersionUploadEdgeTests : IAsyncLifetime
{
    private const string NodeKey = "versions-node-key";
    private readonly TempModelRepository[] _repositories = [new("versioned"), new("versioned")];
    private GatewayServer[] _nodes = [];
    private GatewayServer? _edge;

    public async Task InitializeAsync()
    {
        // The second node already holds version 4 with other bytes: an upload of 4 conflicts there only.
        _repositories[1].AddVersion("versioned", 4, "versioned", 3);
        _nodes = await Task.WhenAll(_repositories.Select(r => GatewayServer.StartAsync(r.Path,
            "--role", "node", "--Node:Keys:0:Name", "edge", "--Node:Keys:0:Sha256", ApiKeyMiddleware.Hash(NodeKey))));
        _edge = await GatewayServer.StartAsync(RepoPaths.TestModels,
        [
            "--role", "edge", "--Auth:AllowAnonymous", "true", "--Auth:AnonymousRoles:0", "deploy", "--Edge:NodeKey", NodeKey,
            .. _nodes.SelectMany(n => new[] { "--node", n.BaseAddress.ToString().TrimEnd('/') }),
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

        foreach (var repository in _repositories)
        {
            repository.Dispose();
        }
    }

    private static ByteArrayContent Model(string model, int version)
    {
        var content = new ByteArrayContent(File.ReadAllBytes(Path.Combine(RepoPaths.TestModels, model, version.ToString(System.Globalization.CultureInfo.InvariantCulture), "model.onnx")));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    private string[] Listing(int node, string model) =>
        [.. Directory.GetFileSystemEntries(Path.Combine(_repositories[node].Path, model), "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(Path.Combine(_repositories[node].Path, model), p)).Order(StringComparer.Ordinal)];

    private string Url(int node) => _nodes[node].BaseAddress.ToString().TrimEnd('/');

    [Fact]
    public async Task Put_ThroughEdge_EveryNodeStoresIt_201_ThenSameBytes200()
    {
        using var created = await _edge!.Client.PutAsync("admin/models/versioned/versions/5", Model("versioned", 2));
        using var again = await _edge.Client.PutAsync("admin/models/versioned/versions/5", Model("versioned", 2));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var digest = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("digest").GetString();
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.All(_repositories, r => Assert.Equal(digest, ServingGateway.Inference.VersionCatalog.ComputeDigest(Path.Combine(r.Path, "versioned", "5"))));
        var audit = File.ReadAllLines(_edge.AuditPath).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Contains(audit, l => l.GetProperty("status").GetInt32() == 201 && l.GetProperty("details").GetProperty("digest").GetString() == digest);
        Assert.All(_nodes, n => Assert.Contains(File.ReadAllLines(n.AuditPath), l => l.Contains("\"caller\":\"edge\"", StringComparison.Ordinal) && l.Contains("\"method\":\"PUT\"", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Put_ThroughEdge_OneNodeHoldsOtherBytes_502NamingIt()
    {
        using var response = await _edge!.Client.PutAsync("admin/models/versioned/versions/4", Model("versioned", 2));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await Oip.ReadErrorAsync(response);
        Assert.Contains($"stored on [{Url(0)} (201, sha256:", error, StringComparison.Ordinal);
        Assert.Contains($"failed on [{Url(1)}: 409 ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_ThroughEdge_CorruptFile_EveryNodes400_NothingLeftOnAny()
    {
        var before = new[] { Listing(0, "versioned"), Listing(1, "versioned") };

        using var response = await _edge!.Client.PutAsync("admin/models/versioned/versions/6", Model("broken", 1));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("every node refused the upload (400)", await Oip.ReadErrorAsync(response), StringComparison.Ordinal);
        Assert.Equal(before[0], Listing(0, "versioned"));
        Assert.Equal(before[1], Listing(1, "versioned"));
    }

    [Fact]
    public async Task Get_ThroughEdge_EveryNodesVersions()
    {
        using var response = await _edge!.Client.GetAsync("admin/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var model = Assert.Single(root.GetProperty("models").EnumerateArray());
        Assert.Equal("versioned", model.GetProperty("name").GetString());
        var nodes = model.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal([Url(0), Url(1)], nodes.Select(n => n.GetProperty("node").GetString()));
        Assert.Equal(["1", "2", "3"], nodes[0].GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()));
        Assert.Equal(["1", "2", "3", "4"], nodes[1].GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()));
        Assert.Empty(root.GetProperty("unreachable").EnumerateArray());
    }

    [Fact]
    public async Task Put_OnANodeWithoutTheNodeKey_401_NothingStored()
    {
        using var response = await _nodes[0].Client.PutAsync("admin/models/versioned/versions/7", Model("versioned", 2));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(_repositories[0].Path, "versioned", "7")));
    }
}
