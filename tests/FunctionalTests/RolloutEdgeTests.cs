using System.Net;
using System.Text.Json;
using ServingGateway.Auth;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Rollouts through an edge in front of two node processes (issue 13, acceptance "through an edge with two nodes"):
/// the edge splits the traffic, judges from the answers that pass through it, and loads and unloads versions on both
/// nodes through the repository extension. Each test rolls out a model of its own on the shared cluster.
/// </summary>
public sealed class RolloutEdgeTests(RolloutEdgeTests.Cluster cluster) : IClassFixture<RolloutEdgeTests.Cluster>
{
    internal const string InferKey = "edge-rollout-infer";
    internal const string DeployKey = "edge-rollout-deploy";

    /// <summary>
    /// Two nodes serving version 1 of mlp (2: the same weights), paced (2: the slow model, 1: one MatMul of the same
    /// signature) and versioned (2 answers another number), each with version 2 on disk but not loaded; an edge with an
    /// infer key and a deploy key, ticking every 100 ms.
    /// </summary>
    public sealed class Cluster : IAsyncLifetime
    {
        private readonly TempModelRepository _models = PacedRepository("mlp", "versioned");
        private readonly string _stateFile = Path.Combine(Path.GetTempPath(), $"sg-edge-rollouts-{Guid.NewGuid():N}.json");

        internal NodeProcess[] Nodes { get; private set; } = [];

        internal GatewayServer Edge { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            _models.AddVersion("mlp", 2, "mlp", 1);
            _models.WriteConfig("mlp", """{"max_batch_size": 64, "instances": 1, "version_policy": {"specific": {"versions": [1]}}}""");
            _models.WriteConfig("versioned", """{"max_batch_size": 8, "instances": 1, "version_policy": {"specific": {"versions": [1]}}}""");
            Nodes = await Task.WhenAll(Enumerable.Range(1, 2).Select(i => NodeProcess.StartNodeAsync(_models.Path, $"rollout-node-{i}")));
            Edge = await GatewayServer.StartAsync(RepoPaths.TestModels,
            [
                "--role", "edge", "--Edge:HealthCheckIntervalSeconds", "0.5",
                "--Deployments:StateFile", _stateFile, "--Deployments:TickMilliseconds", "100",
                .. Keys(),
                .. Nodes.SelectMany(n => new[] { "--node", n.Url }),
            ]);
        }

        public async Task DisposeAsync()
        {
            await Edge.DisposeAsync();
            foreach (var node in Nodes)
            {
                await node.DisposeAsync();
            }

            _models.Dispose();
            File.Delete(_stateFile);
        }
    }

    /// <summary>The infer and deploy keys, as arguments.</summary>
    internal static string[] Keys() =>
    [
        "--Auth:Keys:0:Name", "infer", "--Auth:Keys:0:Sha256", ApiKeyMiddleware.Hash(InferKey), "--Auth:Keys:0:Roles:0", "infer",
        "--Auth:Keys:1:Name", "ops", "--Auth:Keys:1:Sha256", ApiKeyMiddleware.Hash(DeployKey), "--Auth:Keys:1:Roles:0", "deploy",
    ];

    /// <summary>
    /// A repository with <paramref name="models"/> and model paced: version 1 one 512 x 512 MatMul (test model wide),
    /// version 2 four hundred of them (test model slow), same signature; only version 1 served.
    /// </summary>
    internal static TempModelRepository PacedRepository(params string[] models)
    {
        var repository = new TempModelRepository(models);
        repository.AddVersion("paced", 1, "wide", 1);
        repository.AddVersion("paced", 2, "slow", 1);
        repository.WriteConfig("paced", """{"max_batch_size": 32, "instances": 1, "version_policy": {"specific": {"versions": [1]}}}""");
        return repository;
    }

    /// <summary>
    /// A request to paced: 32 rows of zeros. Version 2 takes tens of milliseconds on them (about 1 ms a row at best),
    /// version 1 well under one; both read and write the same 32 x 512 zeros, so the JSON costs them alike.
    /// </summary>
    internal static readonly string PacedRequest = Oip.JsonRequest("x", [32, 512], new float[32 * 512]);

    internal static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string? body = null, string? key = DeployKey)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Oip.Json(body) };
        if (key is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        return await client.SendAsync(request);
    }

    /// <summary>
    /// Starts a rollout of <paramref name="model"/> with <paramref name="spec"/> (as <paramref name="key"/>; null: no
    /// key) and waits (90 s at most) until it is promoted, rolled back or failed.
    /// </summary>
    internal static async Task<JsonElement> RollOutAsync(HttpClient client, string model, string spec, string? key = DeployKey)
    {
        using (var started = await SendAsync(client, HttpMethod.Post, $"admin/models/{model}/rollouts", spec, key))
        {
            Assert.True(started.StatusCode == HttpStatusCode.Accepted, $"{(int)started.StatusCode} {await started.Content.ReadAsStringAsync()}");
        }

        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            using var response = await SendAsync(client, HttpMethod.Get, $"admin/models/{model}/rollouts/current", key: key);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var current = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            if (current.GetProperty("state").GetString() is "promoted" or "rolled_back" or "failed")
            {
                return current;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the rollout never finished: {current}");
            await Task.Delay(100);
        }
    }

    /// <summary>The versions of <paramref name="model"/> READY on a node (its own repository index).</summary>
    internal static async Task<string[]> ReadyAsync(HttpClient node, string model)
    {
        using var index = await node.PostAsync("v2/repository/index", Oip.Json("""{"ready": true}"""));
        var rows = JsonDocument.Parse(await index.Content.ReadAsStringAsync()).RootElement.EnumerateArray();
        return [.. rows.Where(r => r.GetProperty("name").GetString() == model).Select(r => r.GetProperty("version").GetString()!).Order()];
    }

    /// <summary>
    /// Asserts that <c>/status/data</c> (on loopback: no key needed) shows <paramref name="model"/> routed wholly to
    /// <paramref name="version"/> and its rollout promoted there.
    /// </summary>
    internal static async Task StatusShowsPromotedAsync(HttpClient client, string model, long version)
    {
        var traffic = JsonDocument.Parse(await client.GetStringAsync("status/data")).RootElement.GetProperty("traffic");
        var split = Assert.Single(traffic.GetProperty("splits").EnumerateArray(), s => s.GetProperty("model").GetString() == model);
        var share = Assert.Single(split.GetProperty("shares").EnumerateArray());
        Assert.Equal((version, 100), (share.GetProperty("version").GetInt64(), share.GetProperty("percent").GetInt32()));
        var rollout = Assert.Single(traffic.GetProperty("rollouts").EnumerateArray(), r => r.GetProperty("model").GetString() == model);
        Assert.Equal(("promoted", 100, version), (rollout.GetProperty("state").GetString(), rollout.GetProperty("percent").GetInt32(), rollout.GetProperty("version").GetInt64()));
        Assert.Equal("promote", rollout.GetProperty("last_decision").GetProperty("action").GetString());
        Assert.Contains($"{model}: 100% to version {version}", traffic.GetProperty("summary").GetString(), StringComparison.Ordinal);
    }

    private static string[] Actions(JsonElement rollout) =>
        [.. rollout.GetProperty("decisions").EnumerateArray().Select(d => d.GetProperty("action").GetString()!)];

    [Fact]
    public async Task Canary_SameWeightsNewVersion_PromotedOnBothNodesWithZeroFailedRequests()
    {
        JsonElement promoted;
        var load = new SteadyLoad([cluster.Edge.Client], "v2/models/mlp/infer", Oip.JsonRequest("input", [1, 64], new float[64]), InferKey);
        await using (load)
        {
            promoted = await RollOutAsync(cluster.Edge.Client, "mlp", """
                {"version": 2, "strategy": "canary", "steps": [25, 50, 100], "step_seconds": 2,
                 "analysis": {"max_error_rate": 0, "max_p99_ratio": 20, "min_requests": 3}}
                """);
        }

        Assert.Equal("promoted", promoted.GetProperty("state").GetString());
        Assert.Empty(load.Failures);
        Assert.Equal(["start", "loaded", "step", "promote"], Actions(promoted));
        Assert.True(load.Versions.GetValueOrDefault("1") > 0 && load.Versions.GetValueOrDefault("2") > 0, string.Join(", ", load.Versions));
        foreach (var node in cluster.Nodes)
        {
            await Poll.UntilAsync(async () => (await ReadyAsync(node.Client, "mlp")).SequenceEqual(["2"]), $"{node.Url} to serve only version 2");
        }

        await StatusShowsPromotedAsync(cluster.Edge.Client, "mlp", 2);
        using (var nodeStatus = JsonDocument.Parse(await cluster.Nodes[0].Client.GetStringAsync("status/data")))
        {
            Assert.Equal(0, nodeStatus.RootElement.GetProperty("traffic").GetProperty("splits").GetArrayLength()); // the edge splits, not the node
        }

        Assert.Contains(File.ReadAllLines(cluster.Edge.AuditPath), l => l.Contains("\"event\":\"rollout\"", StringComparison.Ordinal)
            && l.Contains("\"caller\":\"ops\"", StringComparison.Ordinal) && l.Contains("\"outcome\":\"start\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Canary_TenTimesSlowerVersion_RolledBackAtItsFirstStepByP99RatioWithZeroFailedRequests()
    {
        JsonElement rolledBack;
        var load = new SteadyLoad([cluster.Edge.Client], "v2/models/paced/infer", PacedRequest, InferKey);
        await using (load)
        {
            await load.AnsweredAsync(20);
            rolledBack = await RollOutAsync(cluster.Edge.Client, "paced", """
                {"version": 2, "strategy": "canary", "steps": [25, 50, 100], "step_seconds": 3,
                 "analysis": {"max_error_rate": 0, "max_p99_ratio": 2, "min_requests": 5}}
                """);
        }

        // At its first step (step 0): no step was taken (a window with too few requests may have been extended).
        Assert.True(rolledBack.GetProperty("state").GetString() == "rolled_back", rolledBack.ToString());
        Assert.Equal(["start", "loaded"], Actions(rolledBack)[..2]);
        Assert.Equal("rollback", Actions(rolledBack)[^1]);
        Assert.True(Actions(rolledBack)[2..^1].All(action => action == "extend"), rolledBack.ToString());
        var rollback = rolledBack.GetProperty("decisions").EnumerateArray().Last();
        Assert.Equal(0, rolledBack.GetProperty("step").GetInt32());
        Assert.Contains("max_p99_ratio", rollback.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Empty(load.Failures);
        foreach (var node in cluster.Nodes)
        {
            await Poll.UntilAsync(async () => (await ReadyAsync(node.Client, "paced")).SequenceEqual(["1"]), $"{node.Url} to serve only version 1");
        }
    }

    [Fact]
    public async Task BlueGreen_DivergentOutputs_RolledBackBeforeAnyCallerGetsTheNewVersion()
    {
        JsonElement rolledBack;
        var load = new SteadyLoad([cluster.Edge.Client], "v2/models/versioned/infer", Oip.JsonRequest("x", [1, 4], [0, 0, 0, 0]), InferKey);
        await using (load)
        {
            rolledBack = await RollOutAsync(cluster.Edge.Client, "versioned", """
                {"version": 2, "strategy": "blue-green", "step_seconds": 2, "sample_ratio": 1,
                 "analysis": {"min_requests": 3, "max_output_divergence": 0.01}}
                """);
        }

        Assert.Equal("rolled_back", rolledBack.GetProperty("state").GetString());
        var rollback = rolledBack.GetProperty("decisions").EnumerateArray().Last();
        Assert.Contains("max_output_divergence", rollback.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.True(rollback.GetProperty("new").GetProperty("compared").GetInt64() > 0);
        Assert.Empty(load.Failures);
        Assert.Equal(["1"], load.Versions.Keys);
    }

    [Fact]
    public async Task AdminCalls_InferKey_403OnEvery_Endpoint()
    {
        foreach (var (method, path, body) in new (HttpMethod, string, string?)[]
        {
            (HttpMethod.Post, "admin/models/mlp/rollouts", """{"version": 2, "strategy": "canary"}"""),
            (HttpMethod.Get, "admin/models/mlp/rollouts/current", null),
            (HttpMethod.Post, "admin/models/mlp/rollouts/current/rollback", null),
            (HttpMethod.Post, "v2/repository/models/mlp/load", "{}"),
            (HttpMethod.Post, "v2/repository/models/mlp/unload", null),
        })
        {
            using var response = await SendAsync(cluster.Edge.Client, method, path, body, InferKey);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {path}: {(int)response.StatusCode}");
        }
    }
}
