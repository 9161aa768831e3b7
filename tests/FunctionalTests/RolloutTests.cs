using System.Net;
using System.Text.Json;
using ServingGateway.Auth;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>Rollouts of the standalone role over real HTTP (issue 13, items 2, 4 and 5): canary under light load, validation, roles, restart.</summary>
public sealed class RolloutTests : IDisposable
{
    private const string InferKey = "rollout-infer";
    private const string DeployKey = "rollout-deploy";
    private static readonly string MlpRequest = Oip.JsonRequest("input", [1, 64], new float[64]);
    private readonly TempModelRepository _models = new("mlp");
    private readonly string _stateFile = Path.Combine(Path.GetTempPath(), $"sg-rollout-state-{Guid.NewGuid():N}.json");

    public void Dispose()
    {
        _models.Dispose();
        File.Delete(_stateFile);
    }

    // Version 1 serving, version 2 on disk beside it (as after an upload).
    private void AddVersionTwo()
    {
        _models.AddVersion("mlp", 2, "mlp", 1);
        _models.WriteConfig("mlp", """{"max_batch_size": 64, "instances": 1, "version_policy": {"specific": {"versions": [1]}}}""");
    }

    private Task<GatewayServer> StartAsync() => GatewayServer.StartAsync(_models.Path,
        "--Deployments:StateFile", _stateFile,
        "--Deployments:TickMilliseconds", "100",
        "--Auth:Keys:0:Name", "infer", "--Auth:Keys:0:Sha256", ApiKeyMiddleware.Hash(InferKey), "--Auth:Keys:0:Roles:0", "infer",
        "--Auth:Keys:1:Name", "ops", "--Auth:Keys:1:Sha256", ApiKeyMiddleware.Hash(DeployKey), "--Auth:Keys:1:Roles:0", "deploy");

    private static async Task<HttpResponseMessage> SendAsync(GatewayServer server, HttpMethod method, string path, string? body = null, string key = DeployKey)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Oip.Json(body) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return await server.Client.SendAsync(request);
    }

    private static async Task<JsonElement> CurrentAsync(GatewayServer server)
    {
        using var response = await SendAsync(server, HttpMethod.Get, "admin/models/mlp/rollouts/current");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    private static async Task<JsonElement> WaitForStateAsync(GatewayServer server, params string[] states)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var current = await CurrentAsync(server);
            if (states.Contains(current.GetProperty("state").GetString()))
            {
                return current;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the rollout never reached {string.Join(" or ", states)}: {current}");
            await Task.Delay(100);
        }
    }

    // After a promotion or rollback the version that lost its traffic unloads once Deployments:UnloadGraceMilliseconds
    // (1 s) has passed and its requests have drained.
    private static Task ServesOnlyAsync(GatewayServer server, string model, string version) =>
        Poll.UntilAsync(
            () => Task.FromResult(server.Repository.GetIndex().Where(r => r.Name == model && r.State == "READY").Select(r => r.Version).SequenceEqual([version])),
            () => $"{model} to serve only version {version}: {string.Join(", ", server.Repository.GetIndex().Where(r => r.Name == model).Select(r => $"{r.Version} {r.State}"))}");

    [Fact]
    public async Task Canary_SameWeightsNewVersion_PromotedWithZeroFailedRequests()
    {
        AddVersionTwo();
        await using var server = await StartAsync();

        // About 40 requests/s: two loops, each pausing 50 ms after an answer.
        var load = new SteadyLoad([server.Client], "v2/models/mlp/infer", MlpRequest, InferKey, pause: TimeSpan.FromMilliseconds(50));
        var failures = load.Failures;
        var versions = load.Versions;
        using (var started = await SendAsync(server, HttpMethod.Post, "admin/models/mlp/rollouts", """
            {"version": 2, "strategy": "canary", "steps": [25, 50, 100], "step_seconds": 2,
             "analysis": {"max_error_rate": 0, "max_p99_ratio": 20, "min_requests": 3}}
            """))
        {
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            Assert.Equal("/admin/models/mlp/rollouts/current", started.Headers.Location?.OriginalString);
        }

        var promoted = await WaitForStateAsync(server, "promoted", "rolled_back", "failed");
        await load.DisposeAsync();

        Assert.Equal("promoted", promoted.GetProperty("state").GetString());
        Assert.Empty(failures);
        Assert.Equal(["start", "loaded", "step", "promote"], promoted.GetProperty("decisions").EnumerateArray().Select(d => d.GetProperty("action").GetString()));
        Assert.True(versions.GetValueOrDefault("1") > 0 && versions.GetValueOrDefault("2") > 0, string.Join(", ", versions));
        await ServesOnlyAsync(server, "mlp", "2");
        Assert.True(Directory.Exists(Path.Combine(_models.Path, "mlp", "1")));
        var audited = File.ReadAllLines(server.AuditPath).Where(l => l.Contains("\"event\":\"rollout\"", StringComparison.Ordinal)).ToList();
        Assert.Contains(audited, l => l.Contains("\"caller\":\"ops\"", StringComparison.Ordinal) && l.Contains("\"outcome\":\"start\"", StringComparison.Ordinal));
        Assert.Contains(audited, l => l.Contains("\"caller\":\"rollout-controller\"", StringComparison.Ordinal) && l.Contains("\"outcome\":\"promote\"", StringComparison.Ordinal));

        // The listing shows the live split and the rollout as .../rollouts/current does.
        using var listing = await SendAsync(server, HttpMethod.Get, "admin/models");
        var mlp = JsonDocument.Parse(await listing.Content.ReadAsStringAsync()).RootElement.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "mlp");
        Assert.Equal("promoted", mlp.GetProperty("rollout").GetProperty("state").GetString());
        Assert.Equal(promoted.GetProperty("decisions").GetArrayLength(), mlp.GetProperty("rollout").GetProperty("decisions").GetArrayLength());
        var share = Assert.Single(mlp.GetProperty("traffic_split").GetProperty("shares").EnumerateArray());
        Assert.Equal(("2", 100), (share.GetProperty("version").GetString(), share.GetProperty("percent").GetInt32()));

        // The status page's data shows the split and the rollout.
        await RolloutEdgeTests.StatusShowsPromotedAsync(server.Client, "mlp", 2);
    }

    [Fact]
    public async Task Canary_TenTimesSlowerVersion_RolledBackAtItsFirstStepByP99RatioWithZeroFailedRequests()
    {
        using var models = RolloutEdgeTests.PacedRepository();
        await using var server = await GatewayServer.StartAsync(models.Path, "--Deployments:StateFile", _stateFile, "--Deployments:TickMilliseconds", "100");
        JsonElement rolledBack;
        var load = new SteadyLoad([server.Client], "v2/models/paced/infer", RolloutEdgeTests.PacedRequest, null);
        await using (load)
        {
            await load.AnsweredAsync(20);
            rolledBack = await RolloutEdgeTests.RollOutAsync(server.Client, "paced", """
                {"version": 2, "strategy": "canary", "steps": [25, 50, 100], "step_seconds": 3,
                 "analysis": {"max_error_rate": 0, "max_p99_ratio": 2, "min_requests": 5}}
                """, key: null);
        }

        // At its first step (step 0): no step was taken (a window with too few requests may have been extended).
        var actions = rolledBack.GetProperty("decisions").EnumerateArray().Select(d => d.GetProperty("action").GetString()!).ToArray();
        Assert.True(rolledBack.GetProperty("state").GetString() == "rolled_back", rolledBack.ToString());
        Assert.Equal(["start", "loaded"], actions[..2]);
        Assert.Equal("rollback", actions[^1]);
        Assert.True(actions[2..^1].All(action => action == "extend"), rolledBack.ToString());
        Assert.Equal(0, rolledBack.GetProperty("step").GetInt32());
        Assert.Contains("max_p99_ratio", rolledBack.GetProperty("decisions").EnumerateArray().Last().GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Empty(load.Failures);
        await ServesOnlyAsync(server, "paced", "1");
    }

    [Fact]
    public async Task BlueGreen_DivergentOutputs_RolledBackBeforeAnyCallerGetsTheNewVersion()
    {
        // versioned: versions 1, 2 and 3 answer their own number, so version 2 diverges from version 1 on every input.
        using var models = new TempModelRepository("versioned");
        models.WriteConfig("versioned", """{"max_batch_size": 8, "instances": 1, "version_policy": {"specific": {"versions": [1]}}}""");
        await using var server = await GatewayServer.StartAsync(models.Path,
            "--Deployments:StateFile", _stateFile, "--Deployments:TickMilliseconds", "100");
        var load = new SteadyLoad([server.Client], "v2/models/versioned/infer", Oip.JsonRequest("x", [1, 4], [0, 0, 0, 0]), key: null, loops: 1);
        var failures = load.Failures;
        var versions = load.Versions;

        using (var started = await server.Client.PostAsync("admin/models/versioned/rollouts", Oip.Json("""
            {"version": 2, "strategy": "blue-green", "step_seconds": 2, "sample_ratio": 1,
             "analysis": {"min_requests": 3, "max_output_divergence": 0.01}}
            """)))
        {
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        }

        var deadline = DateTime.UtcNow.AddSeconds(90);
        JsonElement current;
        while (true)
        {
            using var response = await server.Client.GetAsync("admin/models/versioned/rollouts/current");
            current = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            if (current.GetProperty("state").GetString() is "promoted" or "rolled_back" or "failed")
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the rollout never finished: {current}");
            await Task.Delay(100);
        }

        await load.DisposeAsync();

        Assert.Equal("rolled_back", current.GetProperty("state").GetString());
        var rollback = current.GetProperty("decisions").EnumerateArray().Last();
        Assert.Contains("max_output_divergence", rollback.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.True(rollback.GetProperty("new").GetProperty("compared").GetInt64() > 0);
        Assert.Empty(failures);
        Assert.Equal(["1"], versions.Keys);
        await ServesOnlyAsync(server, "versioned", "1");
    }

    [Fact]
    public async Task Endpoints_BadCalls_ClearJsonErrors()
    {
        AddVersionTwo();
        await using var server = await StartAsync();

        async Task ExpectAsync(HttpStatusCode status, HttpMethod method, string path, string? body, string message, string key = DeployKey)
        {
            using var response = await SendAsync(server, method, path, body, key);
            Assert.Equal(status, response.StatusCode);
            Assert.Contains(message, await Oip.ReadErrorAsync(response), StringComparison.Ordinal);
        }

        await ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, "admin/models/mlp/rollouts/current", null, "has no rollout");
        await ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, "admin/models/mlp/rollouts/current/promote", null, "has no rollout");
        await ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, "admin/models/mlp/rollouts", """{"version": 2, "strategy": "linear", "steps": [5, 1]}""", "\"strategy\" must be");
        await ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, "admin/models/mlp/rollouts", "{", "malformed JSON");
        await ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, "admin/models/mlp/rollouts", """{"version": 9, "strategy": "canary"}""", "no version 9 on disk");
        await ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, "admin/models/nope/rollouts", """{"version": 1, "strategy": "canary"}""", "unknown model 'nope'");
        await ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, "admin/models/mlp/rollouts", """{"version": 2, "strategy": "canary"}""", "lacks the deploy role", InferKey);
        await ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Get, "admin/models/mlp/rollouts/current", null, "lacks the deploy role", InferKey);
        foreach (var command in new[] { "promote", "rollback", "pause", "resume" })
        {
            await ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, $"admin/models/mlp/rollouts/current/{command}", null, "lacks the deploy role", InferKey);
        }

        using (var started = await SendAsync(server, HttpMethod.Post, "admin/models/mlp/rollouts", """{"version": 2, "strategy": "blue-green", "step_seconds": 600}"""))
        {
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        }

        await ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, "admin/models/mlp/rollouts", """{"version": 2, "strategy": "canary"}""", "already");
        await ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, "admin/models/mlp/rollouts/current/explode", null, "unknown rollout command");
        await WaitForStateAsync(server, "analyzing");
        using (var rolledBack = await SendAsync(server, HttpMethod.Post, "admin/models/mlp/rollouts/current/rollback"))
        {
            Assert.Equal(HttpStatusCode.OK, rolledBack.StatusCode);
        }

        await ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, "admin/models/mlp/rollouts/current/rollback", null, "already rolled_back");
        Assert.Contains(File.ReadAllLines(server.AuditPath), l => l.Contains("\"caller\":\"infer\"", StringComparison.Ordinal) && l.Contains("\"outcome\":\"forbidden\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Restart_MidRollout_ResumesAtItsStepWithTheSplitRestored()
    {
        AddVersionTwo();
        await using (var first = await StartAsync())
        {
            using var started = await SendAsync(first, HttpMethod.Post, "admin/models/mlp/rollouts", """{"version": 2, "strategy": "canary", "steps": [30, 100], "step_seconds": 600}""");
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            await WaitForStateAsync(first, "analyzing");
        }

        await using var second = await StartAsync();
        var resumed = await WaitForStateAsync(second, "analyzing");

        Assert.Equal(30, resumed.GetProperty("percent").GetInt32());
        var actions = resumed.GetProperty("decisions").EnumerateArray().Select(d => d.GetProperty("action").GetString()).ToList();
        Assert.Equal(["start", "loaded", "resume_after_restart", "loaded"], actions);
        Assert.Equal(["2", "1"], second.Repository.GetIndex().Where(r => r.Name == "mlp" && r.State == "READY").Select(r => r.Version));
    }

    [Fact]
    public async Task RepositoryLoad_VersionPolicyOverride_ServesExactlyThoseVersions()
    {
        _models.AddVersion("mlp", 2, "mlp", 1);
        await using var server = await StartAsync();
        Assert.Equal(["2"], server.Repository.GetIndex().Where(r => r.Name == "mlp" && r.State == "READY").Select(r => r.Version));

        using var response = await SendAsync(server, HttpMethod.Post, "v2/repository/models/mlp/load",
            """{"parameters": {"config": "{\"version_policy\": {\"specific\": {\"versions\": [1, 2]}}}"}}""");
        using var other = await SendAsync(server, HttpMethod.Post, "v2/repository/models/mlp/load",
            """{"parameters": {"config": "{\"max_batch_size\": 4}"}}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["2", "1"], server.Repository.GetIndex().Where(r => r.Name == "mlp" && r.State == "READY").Select(r => r.Version));
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
        Assert.Contains("other than \"version_policy\" are not supported", await Oip.ReadErrorAsync(other), StringComparison.Ordinal);
    }
}
