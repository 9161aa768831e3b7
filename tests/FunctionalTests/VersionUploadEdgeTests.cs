using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ServingGateway.Auth;
using ServingGateway.Deployments.Fleet;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.Inference;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Version uploads through an edge in front of two node processes (issue 13 item 1), each node with a repository of
/// its own behind a node key: the edge streams an upload to every node (201/200 only when every node stored it, 502
/// naming each node that did not); its listing compares the nodes' versions; a node that missed a version catches up
/// from the other (archive of the folder, stored as any upload); a version stored with different digests is never
/// copied and is named in the listing and in a rollout's failure.
/// </summary>
public sealed class VersionUploadEdgeTests : IAsyncLifetime
{
    private const string NodeKey = "versions-node-key";
    private readonly TempModelRepository[] _repositories = [new("versioned", "mlp"), new("versioned", "mlp")];
    private NodeProcess[] _nodes = [];
    private GatewayServer? _edge;

    public Task InitializeAsync()
    {
        foreach (var repository in _repositories)
        {
            repository.WriteConfig("versioned", """{"max_batch_size": 8, "instances": 1, "version_policy": {"specific": {"versions": [1]}}}""");
        }

        return Task.CompletedTask;
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

    // Two nodes (ordered by URL: _nodes[0] sorts first, as the edge lists them) and an edge with an infer and a deploy key.
    private async Task StartAsync()
    {
        var nodes = await Task.WhenAll(_repositories.Select((r, i) => NodeProcess.StartNodeAsync(r.Path, $"versions-node-{i}",
            "--Node:Keys:0:Name", "edge", "--Node:Keys:0:Sha256", ApiKeyMiddleware.Hash(NodeKey))));
        if (string.CompareOrdinal(nodes[0].Url, nodes[1].Url) > 0)
        {
            (nodes[0], nodes[1]) = (nodes[1], nodes[0]);
            Array.Reverse(_repositories);
        }

        _nodes = nodes;
        _edge = await GatewayServer.StartAsync(RepoPaths.TestModels,
        [
            "--role", "edge", "--Edge:NodeKey", NodeKey, "--Edge:HealthCheckIntervalSeconds", "0.5", "--Deployments:TickMilliseconds", "100",
            .. RolloutEdgeTests.Keys(),
            .. _nodes.SelectMany(n => new[] { "--node", n.Url }),
        ]);
    }

    private static ByteArrayContent Model(string model, int version)
    {
        var content = new ByteArrayContent(File.ReadAllBytes(Path.Combine(RepoPaths.TestModels, model, version.ToString(System.Globalization.CultureInfo.InvariantCulture), "model.onnx")));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    private Task<HttpResponseMessage> PutAsync(string path, HttpContent content, string key = RolloutEdgeTests.DeployKey) =>
        SendAsync(_edge!.Client, HttpMethod.Put, path, content, key);

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, HttpContent? content, string? key)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return await client.SendAsync(request);
    }

    private static async Task<JsonElement> ListingAsync(HttpClient client, string key)
    {
        using var response = await SendAsync(client, HttpMethod.Get, "admin/models", null, key);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    private static JsonElement ModelOf(JsonElement listing, string name) =>
        listing.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("name").GetString() == name);

    private static JsonElement? VersionOf(JsonElement model, string version) =>
        model.GetProperty("versions").EnumerateArray().Where(v => v.GetProperty("version").GetString() == version).Cast<JsonElement?>().FirstOrDefault();

    // The versions of <model> READY on <node> (its repository index, with the node key).
    private static async Task<string[]> ReadyAsync(NodeProcess node, string model)
    {
        using var index = await SendAsync(node.Client, HttpMethod.Post, "v2/repository/index", Oip.Json("""{"ready": true}"""), NodeKey);
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        var rows = JsonDocument.Parse(await index.Content.ReadAsStringAsync()).RootElement.EnumerateArray();
        return [.. rows.Where(r => r.GetProperty("name").GetString() == model).Select(r => r.GetProperty("version").GetString()!).Order()];
    }

    private string? DigestOnDisk(int node, string model, int version)
    {
        var folder = Path.Combine(_repositories[node].Path, model, version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Directory.Exists(folder) ? VersionCatalog.ComputeDigest(folder) : null;
    }

    private string[] Files(int node, string model) =>
        [.. Directory.GetFileSystemEntries(Path.Combine(_repositories[node].Path, model), "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(Path.Combine(_repositories[node].Path, model), p)).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Put_ThroughEdge_BothNodesStoreOneDigest_SameBytes200_OtherBytes409()
    {
        await StartAsync();

        using var created = await PutAsync("admin/models/versioned/versions/5", Model("versioned", 2));
        using var again = await PutAsync("admin/models/versioned/versions/5", Model("versioned", 2));
        using var other = await PutAsync("admin/models/versioned/versions/5", Model("versioned", 3));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var digest = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("digest").GetString();
        Assert.Equal(VersionCatalog.ComputeDigest(Path.Combine(RepoPaths.TestModels, "versioned", "2")), digest);
        Assert.Equal(new[] { digest, digest }, new[] { DigestOnDisk(0, "versioned", 5), DigestOnDisk(1, "versioned", 5) });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        Assert.Contains("every node refused the upload (409)", await Oip.ReadErrorAsync(other), StringComparison.Ordinal);
        Assert.Equal(new[] { digest, digest }, new[] { DigestOnDisk(0, "versioned", 5), DigestOnDisk(1, "versioned", 5) });

        var version = VersionOf(ModelOf(await ListingAsync(_edge!.Client, RolloutEdgeTests.DeployKey), "versioned"), "5")!.Value;
        Assert.Equal(digest, version.GetProperty("digest").GetString());
        Assert.Equal([_nodes[0].Url, _nodes[1].Url], version.GetProperty("stored_on").EnumerateArray().Select(n => n.GetString()));
        Assert.Empty(version.GetProperty("missing_on").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, version.GetProperty("conflict").ValueKind);
        var audit = File.ReadAllLines(_edge.AuditPath).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Contains(audit, l => l.GetProperty("status").GetInt32() == 201 && l.GetProperty("details").GetProperty("digest").GetString() == digest);
        Assert.All(_nodes, n => Assert.Contains(File.ReadAllLines(n.AuditPath), l => l.Contains("\"caller\":\"edge\"", StringComparison.Ordinal) && l.Contains("\"method\":\"PUT\"", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Put_ThroughEdge_CorruptOrIncompatibleFile_400WithTheReason_NothingLeftOnAnyNode()
    {
        await StartAsync();
        var before = new[] { Files(0, "mlp"), Files(1, "mlp") };

        using var corrupt = await PutAsync("admin/models/mlp/versions/6", Model("broken", 1));
        using var incompatible = await PutAsync("admin/models/mlp/versions/6", Model("dynamic", 1));
        using var newModel = await PutAsync("admin/models/brand-new/versions/1", Model("broken", 1));

        Assert.Equal(HttpStatusCode.BadRequest, corrupt.StatusCode);
        var error = await Oip.ReadErrorAsync(corrupt);
        Assert.Contains("every node refused the upload (400)", error, StringComparison.Ordinal);
        Assert.Contains("ONNX Runtime cannot load the version", error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, incompatible.StatusCode);
        Assert.Contains("not compatible with serving version 1", await Oip.ReadErrorAsync(incompatible), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, newModel.StatusCode);
        Assert.Equal(before, new[] { Files(0, "mlp"), Files(1, "mlp") });
        Assert.All(_repositories, r => Assert.False(Directory.Exists(Path.Combine(r.Path, "brand-new"))));
    }

    [Fact]
    public async Task Put_OneNodeDown_502NamingIt_RestartedNodeCatchesUp_RolloutThroughTheEdgePromoted()
    {
        await StartAsync();
        var down = _nodes[1];
        down.Kill();
        await down.WaitForExitAsync(TimeSpan.FromSeconds(30));

        using var partial = await PutAsync("admin/models/versioned/versions/5", Model("versioned", 1));

        Assert.Equal(HttpStatusCode.BadGateway, partial.StatusCode);
        var error = await Oip.ReadErrorAsync(partial);
        Assert.Contains($"stored on [{_nodes[0].Url} (201, sha256:", error, StringComparison.Ordinal);
        Assert.Contains($"failed on [{down.Url}: unreachable", error, StringComparison.Ordinal);
        Assert.Null(DigestOnDisk(1, "versioned", 5));
        var listed = VersionOf(ModelOf(await ListingAsync(_edge!.Client, RolloutEdgeTests.DeployKey), "versioned"), "5")!.Value;
        Assert.Equal([_nodes[0].Url], listed.GetProperty("stored_on").EnumerateArray().Select(n => n.GetString()));

        await down.RestartAsync();

        using var direct = new HttpClient { BaseAddress = down.BaseAddress };
        await Poll.UntilAsync(
            async () => VersionOf(ModelOf(await ListingAsync(direct, NodeKey), "versioned"), "5") is not null,
            () => $"the restarted node to catch up on version 5 (the edge routes to [{string.Join(", ", _edge.Services<NodeFanOut>().AvailableNodes())}]; {down.Output})",
            TimeSpan.FromSeconds(60));
        Assert.Equal(DigestOnDisk(0, "versioned", 5), DigestOnDisk(1, "versioned", 5));

        var promoted = await RolloutEdgeTests.RollOutAsync(_edge.Client, "versioned", """
            {"version": 5, "strategy": "canary", "steps": [100], "step_seconds": 1, "analysis": {"min_requests": 0}}
            """);
        Assert.True(promoted.GetProperty("state").GetString() == "promoted", promoted.ToString());
        foreach (var node in _nodes)
        {
            await Poll.UntilAsync(async () => (await ReadyAsync(node, "versioned")).SequenceEqual(["5"]), $"{node.Url} to serve version 5");
        }

        var model = ModelOf(await ListingAsync(_edge.Client, RolloutEdgeTests.DeployKey), "versioned");
        var share = Assert.Single(model.GetProperty("traffic_split").GetProperty("shares").EnumerateArray());
        Assert.Equal("5", share.GetProperty("version").GetString());
        Assert.Equal(100, share.GetProperty("percent").GetInt32());
        Assert.Equal("promoted", model.GetProperty("rollout").GetProperty("state").GetString());
        Assert.Equal("READY", VersionOf(model, "5")!.Value.GetProperty("state").GetString());
    }

    [Fact]
    public async Task VersionWithOtherBytesOnEachNode_NeverCopied_ConflictInTheListing_UploadAndRollout502And409()
    {
        _repositories[0].AddVersion("versioned", 4, "versioned", 2);
        _repositories[1].AddVersion("versioned", 4, "versioned", 3);
        await StartAsync();
        var digests = new[] { DigestOnDisk(0, "versioned", 4), DigestOnDisk(1, "versioned", 4) };
        var holder = digests[0] == VersionCatalog.ComputeDigest(Path.Combine(RepoPaths.TestModels, "versioned", "2")) ? 0 : 1; // the node with these bytes

        using var upload = await PutAsync("admin/models/versioned/versions/4", Model("versioned", 2));

        Assert.Equal(HttpStatusCode.BadGateway, upload.StatusCode);
        var error = await Oip.ReadErrorAsync(upload);
        Assert.True(error.Contains($"stored on [{_nodes[holder].Url} (200, {digests[holder]})]", StringComparison.Ordinal), error);
        Assert.True(error.Contains($"failed on [{_nodes[1 - holder].Url}: 409 ", StringComparison.Ordinal), error);
        var version = VersionOf(ModelOf(await ListingAsync(_edge!.Client, RolloutEdgeTests.DeployKey), "versioned"), "4")!.Value;
        Assert.Equal(JsonValueKind.Null, version.GetProperty("digest").ValueKind);
        var conflict = version.GetProperty("conflict").GetString()!;
        Assert.Contains($"{_nodes[0].Url} {digests[0]}", conflict, StringComparison.Ordinal);
        Assert.Contains($"{_nodes[1].Url} {digests[1]}", conflict, StringComparison.Ordinal);

        var failed = await RolloutEdgeTests.RollOutAsync(_edge.Client, "versioned", """{"version": 4, "strategy": "canary", "steps": [100], "step_seconds": 1}""");

        Assert.Equal("failed", failed.GetProperty("state").GetString());
        Assert.Contains("stored with different digests", failed.ToString(), StringComparison.Ordinal);
        Assert.Equal(digests, new[] { DigestOnDisk(0, "versioned", 4), DigestOnDisk(1, "versioned", 4) });
    }

    [Fact]
    public async Task Rollout_VersionNoNodeStores_404AtTheStart()
    {
        await StartAsync();
        await ListingAsync(_edge!.Client, RolloutEdgeTests.DeployKey);

        using var started = await RolloutEdgeTests.SendAsync(_edge.Client, HttpMethod.Post, "admin/models/versioned/rollouts", """{"version": 9, "strategy": "canary"}""");

        Assert.Equal(HttpStatusCode.NotFound, started.StatusCode);
        Assert.Contains("has no version 9 on disk", await Oip.ReadErrorAsync(started), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_InferKey403AtTheEdge_NoNodeKey401AtANode_NothingStored()
    {
        await StartAsync();

        using var upload = await PutAsync("admin/models/versioned/versions/7", Model("versioned", 2), RolloutEdgeTests.InferKey);
        using var listing = await SendAsync(_edge!.Client, HttpMethod.Get, "admin/models", null, RolloutEdgeTests.InferKey);
        using var onNode = await SendAsync(_nodes[0].Client, HttpMethod.Put, "admin/models/versioned/versions/7", Model("versioned", 2), RolloutEdgeTests.DeployKey);
        using var archive = await SendAsync(_nodes[0].Client, HttpMethod.Get, "admin/models/versioned/versions/1/archive", null, null);
        using var archiveAtEdge = await SendAsync(_edge.Client, HttpMethod.Get, "admin/models/versioned/versions/1/archive", null, RolloutEdgeTests.DeployKey);

        Assert.Equal(HttpStatusCode.Forbidden, upload.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, listing.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, onNode.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, archive.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, archiveAtEdge.StatusCode);
        Assert.All(_repositories, r => Assert.False(Directory.Exists(Path.Combine(r.Path, "versioned", "7"))));
    }
}
