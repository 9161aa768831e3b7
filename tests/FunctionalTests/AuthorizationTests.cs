using System.Net;
using System.Text.Json;
using ServingGateway.Auth;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.Hosting;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Roles from the selected endpoint, the anonymous and loopback defaults, /metrics' role, start-up refusals,
/// node keys and the audit log, over real HTTP (issue 10, items 1, 2, 3 and 8).
/// </summary>
public sealed class AuthorizationTests : IDisposable
{
    private const string InferKey = "authz-infer";
    private const string DeployKey = "authz-deploy";
    private const string AdminKey = "authz-admin";
    private const string NodeKey = "authz-node";
    private static readonly string MlpRequest = Oip.JsonRequest("input", [1, 64], new float[64]);
    private readonly TempModelRepository _models = new("mlp");
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"sg-authz-{Guid.NewGuid():N}.json");

    public AuthorizationTests()
    {
        File.WriteAllText(_config, $$"""
            {
              "Auth": {
                "Keys": [
                  {"Name": "infer", "Sha256": "{{ApiKeyMiddleware.Hash(InferKey)}}", "Roles": ["infer"]},
                  {"Name": "deploy", "Sha256": "{{ApiKeyMiddleware.Hash(DeployKey)}}", "Roles": ["deploy"]},
                  {"Name": "admin", "Sha256": "{{ApiKeyMiddleware.Hash(AdminKey)}}", "Roles": ["admin"]}
                ]
              },
              "Node": {"Keys": [{"Name": "edge-1", "Sha256": "{{ApiKeyMiddleware.Hash(NodeKey)}}"}]}
            }
            """);
    }

    public void Dispose()
    {
        File.Delete(_config);
        _models.Dispose();
    }

    private static async Task<HttpResponseMessage> SendAsync(GatewayServer server, HttpMethod method, string path, string? key = null, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Oip.Json(body) };
        if (key is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        return await server.Client.SendAsync(request);
    }

    // The status page and everything it loads: each is decided as /metrics is.
    private static readonly string[] StatusPaths = ["status", "status/status.js", "status/status.css", "status/data"];

    private static async Task<HttpStatusCode[]> SendEachAsync(GatewayServer server, string[] paths, string? key = null)
    {
        var codes = new List<HttpStatusCode>();
        foreach (var path in paths)
        {
            using var response = await SendAsync(server, HttpMethod.Get, path, key);
            codes.Add(response.StatusCode);
        }

        return [.. codes];
    }

    private static async Task<(int Code, string Err)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await GatewayApp.RunAsync(args, stdout, stderr).WaitAsync(TimeSpan.FromSeconds(60));
        return (code, stderr.ToString());
    }

    private static List<JsonElement> AuditLines(string path) =>
        [.. File.ReadAllLines(path).Select(line => JsonDocument.Parse(line).RootElement)];

    [Fact]
    public async Task IssueRepro_CaseVariantsOfRepositoryCalls_RefusedAndAudited_ModelStaysLoaded()
    {
        await using var server = await GatewayServer.StartAsync(_models.Path, "--config", _config, "--Auth:AllowAnonymous", "false");

        using var noKey = await SendAsync(server, HttpMethod.Post, "V2/repository/models/mlp/unload");
        using var inferKey = await SendAsync(server, HttpMethod.Post, "v2/Repository/models/mlp/load", InferKey);
        using var ready = await SendAsync(server, HttpMethod.Get, "v2/models/mlp/ready", InferKey);

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, inferKey.StatusCode);
        Assert.Contains("lacks the deploy role", await Oip.ReadErrorAsync(inferKey), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var lines = AuditLines(server.AuditPath);
        Assert.Equal(2, lines.Count);
        Assert.Equal(("anonymous", "deploy", "POST", "/v2/repository/models/{model}/unload", "mlp", 401, "unauthenticated"), Fields(lines[0]));
        Assert.Equal(("infer", "deploy", "POST", "/v2/repository/models/{model}/load", "mlp", 403, "forbidden"), Fields(lines[1]));
        var metrics = await server.Client.GetStringAsync("metrics");
        Assert.Contains("sg_auth_refused_total{status=\"401\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("sg_auth_refused_total{status=\"403\"} 1", metrics, StringComparison.Ordinal);
    }

    private static (string?, string?, string?, string?, string?, int, string?) Fields(JsonElement line) =>
        (line.GetProperty("caller").GetString(), line.GetProperty("role").GetString(), line.GetProperty("method").GetString(),
         line.GetProperty("route").GetString(), line.GetProperty("model").GetString(), line.GetProperty("status").GetInt32(), line.GetProperty("outcome").GetString());

    [Fact]
    public async Task RateLimit_ModelsInAnyCase_ShareOneBucket()
    {
        await using var server = await GatewayServer.StartAsync(_models.Path, "--config", _config, "--RateLimits:Default:Rate", "0.001", "--RateLimits:Default:Burst", "4");

        var statuses = new List<HttpStatusCode>();
        foreach (var path in new[] { "V2/MODELS/mlp", "v2/models/mlp", "v2/Models/mlp/", "v2/models/mlp", "V2/models/mlp" })
        {
            using var response = await SendAsync(server, HttpMethod.Get, path, InferKey);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task Roles_AdminImpliesAll_DeployIsRepositoryOnly_RepositoryCallsAudited()
    {
        await using var server = await GatewayServer.StartAsync(_models.Path, "--config", _config);

        using var adminInfers = await SendAsync(server, HttpMethod.Post, "v2/models/mlp/infer", AdminKey, MlpRequest);
        using var adminLoads = await SendAsync(server, HttpMethod.Post, "v2/repository/models/mlp/load", AdminKey);
        using var deployIndexes = await SendAsync(server, HttpMethod.Post, "v2/repository/index", DeployKey);
        using var deployInfers = await SendAsync(server, HttpMethod.Post, "v2/models/mlp/infer", DeployKey, MlpRequest);

        Assert.Equal(HttpStatusCode.OK, adminInfers.StatusCode);
        Assert.Equal(HttpStatusCode.OK, adminLoads.StatusCode);
        Assert.Equal(HttpStatusCode.OK, deployIndexes.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, deployInfers.StatusCode);
        var lines = AuditLines(server.AuditPath);
        Assert.Equal(3, lines.Count);
        Assert.Equal(("admin", "deploy", "POST", "/v2/repository/models/{model}/load", "mlp", 200, "served"), Fields(lines[0]));
        Assert.Equal(("deploy", "deploy", "POST", "/v2/repository/index", null, 200, "served"), Fields(lines[1]));
        Assert.Equal(("deploy", "infer", "POST", "/v2/models/{model}/infer", "mlp", 403, "forbidden"), Fields(lines[2]));
        Assert.True(DateTimeOffset.Parse(lines[0].GetProperty("time").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.AddMinutes(-5));
    }

    [Fact]
    public async Task AllowAnonymousTrue_AnonymousCallersInferOnly()
    {
        await using var server = await GatewayServer.StartAsync(_models.Path, "--Auth:AllowAnonymous", "true");

        using var infer = await SendAsync(server, HttpMethod.Post, "v2/models/mlp/infer", body: MlpRequest);
        using var load = await SendAsync(server, HttpMethod.Post, "v2/repository/models/mlp/load");

        Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, load.StatusCode);
        Assert.Contains("anonymous callers lack the deploy role", await Oip.ReadErrorAsync(load), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoopbackDefault_AnonymousHasEveryRole_MetricsPublic()
    {
        await using var server = await GatewayServer.StartAsync(_models.Path);

        using var load = await SendAsync(server, HttpMethod.Post, "v2/repository/models/mlp/load");
        using var metrics = await SendAsync(server, HttpMethod.Get, "metrics");

        Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
    }

    [Fact]
    public async Task Loopback_AnonymousRefused_MetricsAndStatusStillPublic()
    {
        await using var server = await GatewayServer.StartAsync(_models.Path, "--config", _config, "--Auth:AllowAnonymous", "false");

        using var model = await SendAsync(server, HttpMethod.Get, "v2/models/mlp");
        using var metrics = await SendAsync(server, HttpMethod.Get, "metrics");
        var status = await SendEachAsync(server, StatusPaths);

        Assert.Equal(HttpStatusCode.Unauthorized, model.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.All(status, s => Assert.Equal(HttpStatusCode.OK, s));
    }

    [Fact]
    public async Task BeyondLoopback_AnonymousRefused_MetricsAndStatusNeedAdmin()
    {
        await using var server = await GatewayServer.StartAsync(_models.Path, "--config", _config, "--urls", "http://0.0.0.0:0");

        using var anonymous = await SendAsync(server, HttpMethod.Get, "v2/models/mlp");
        using var metricsNoKey = await SendAsync(server, HttpMethod.Get, "metrics");
        using var metricsInfer = await SendAsync(server, HttpMethod.Get, "metrics", InferKey);
        using var metricsAdmin = await SendAsync(server, HttpMethod.Get, "metrics", AdminKey);
        var statusNoKey = await SendEachAsync(server, StatusPaths);
        var statusInfer = await SendEachAsync(server, StatusPaths, InferKey);
        var statusAdmin = await SendEachAsync(server, StatusPaths, AdminKey);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, metricsNoKey.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, metricsInfer.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metricsAdmin.StatusCode);
        Assert.All(statusNoKey, s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        Assert.All(statusInfer, s => Assert.Equal(HttpStatusCode.Forbidden, s));
        Assert.All(statusAdmin, s => Assert.Equal(HttpStatusCode.OK, s));
    }

    [Fact]
    public async Task MetricsRole_Set_AppliesOnLoopbackToo()
    {
        await using var server = await GatewayServer.StartAsync(_models.Path, "--config", _config, "--Auth:MetricsRole", "infer", "--Auth:AllowAnonymous", "false");

        using var noKey = await SendAsync(server, HttpMethod.Get, "metrics");
        using var infer = await SendAsync(server, HttpMethod.Get, "metrics", InferKey);
        var statusNoKey = await SendEachAsync(server, StatusPaths);
        var statusInfer = await SendEachAsync(server, StatusPaths, InferKey);

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        Assert.All(statusNoKey, s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        Assert.All(statusInfer, s => Assert.Equal(HttpStatusCode.OK, s));
    }

    [Theory]
    [InlineData("standalone", "--urls", "http://0.0.0.0:0", "nobody could call the server")]
    [InlineData("standalone", "--Kestrel:Endpoints:Public:Url", "http://0.0.0.0:0", "nobody could call the server")]
    [InlineData("standalone", "--Auth:AllowAnonymous", "false", "Auth:AllowAnonymous is false and Auth:Keys is empty")]
    [InlineData("node", "--urls", "http://0.0.0.0:0", "needs Node:Keys")]
    public async Task Start_NobodyCouldCallOrOpenNode_ExitsWith2(string role, string name, string value, string expected)
    {
        var (code, err) = await RunAsync("--role", role, "--models", _models.Path, "--urls", "http://127.0.0.1:0", name, value, "--Audit:Path", GatewayServer.TempAuditPath());

        Assert.Equal(2, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Node_BeyondLoopbackWithAllowUnauthenticated_Serves()
    {
        await using var node = await GatewayServer.StartAsync(_models.Path, "--role", "node", "--urls", "http://0.0.0.0:0", "--Node:AllowUnauthenticated", "true");

        using var metadata = await SendAsync(node, HttpMethod.Get, "v2/models/mlp");

        Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
    }

    [Fact]
    public async Task Node_WithKeys_OnlyHealthIsOpen_EdgePresentsItsKeyNeverTheClients()
    {
        // The node also takes the client's infer key as a node key: were the edge to forward it, the node would serve.
        await using var node = await GatewayServer.StartAsync(_models.Path, "--role", "node", "--config", _config, "--Node:Keys:1:Name", "client", "--Node:Keys:1:Sha256", ApiKeyMiddleware.Hash(InferKey));
        await using var edgeWithKey = await GatewayServer.StartAsync(_models.Path, "--role", "edge", "--node", node.BaseAddress.ToString().TrimEnd('/'), "--config", _config, "--Edge:NodeKey", NodeKey);
        await using var edgeWithoutKey = await GatewayServer.StartAsync(_models.Path, "--role", "edge", "--node", node.BaseAddress.ToString().TrimEnd('/'), "--config", _config);

        using var health = await SendAsync(node, HttpMethod.Get, "v2/health/ready");
        using var noKey = await SendAsync(node, HttpMethod.Get, "v2/models/mlp");
        using var metrics = await SendAsync(node, HttpMethod.Get, "metrics");
        var status = await SendEachAsync(node, StatusPaths);
        using var direct = await SendAsync(node, HttpMethod.Get, "v2/models/mlp", NodeKey);
        using var viaEdge = await SendAsync(edgeWithKey, HttpMethod.Post, "v2/models/mlp/infer", InferKey, MlpRequest);
        using var viaEdgeWithoutKey = await SendAsync(edgeWithoutKey, HttpMethod.Post, "v2/models/mlp/infer", InferKey, MlpRequest);

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Contains("requires a node key", await Oip.ReadErrorAsync(noKey), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, metrics.StatusCode);
        Assert.All(status, s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        Assert.Equal(HttpStatusCode.OK, direct.StatusCode);
        Assert.Equal(HttpStatusCode.OK, viaEdge.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, viaEdgeWithoutKey.StatusCode);
    }

    [Fact]
    public async Task Edge_UnknownPath_Is404JsonAndNeverForwarded()
    {
        await using var node = await GatewayServer.StartAsync(_models.Path, "--role", "node");
        await using var edge = await GatewayServer.StartAsync(_models.Path, "--role", "edge", "--node", node.BaseAddress.ToString().TrimEnd('/'), "--config", _config);

        using var unknown = await SendAsync(edge, HttpMethod.Get, "v2/models/mlp/secrets");
        using var unknownWithKey = await SendAsync(edge, HttpMethod.Post, "v2/repository/models/mlp/delete", AdminKey);

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no endpoint at", await Oip.ReadErrorAsync(unknown), StringComparison.Ordinal);
        Assert.False(unknown.Headers.Contains("X-Served-By"));
        Assert.Equal(HttpStatusCode.NotFound, unknownWithKey.StatusCode);
        Assert.False(unknownWithKey.Headers.Contains("X-Served-By"));
    }

    [Fact]
    public async Task Audit_DefaultBesideTheRepository_RotatedBySize()
    {
        var root = Path.Combine(Path.GetTempPath(), $"sg-audit-root-{Guid.NewGuid():N}");
        var models = Path.Combine(root, "models");
        Directory.CreateDirectory(models);
        try
        {
            // No --Audit:Path: the default. Nothing to load, so the repository is ready at once.
            var app = GatewayApp.Build(CommandLine.Parse(["--models", models, "--urls", "http://127.0.0.1:0", "--config", _config, "--Auth:AllowAnonymous", "false", "--Audit:MaxBytes", "4096", "--Logging:LogLevel:Default", "Warning"]));
            await app.StartAsync();
            try
            {
                var address = new Uri(((Microsoft.AspNetCore.Hosting.Server.IServer)app.Services.GetService(typeof(Microsoft.AspNetCore.Hosting.Server.IServer))!)
                    .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First());
                for (var i = 0; i < 30; i++)
                {
                    var reply = await RawHttp.SendAsync(address, "POST", "/v2/repository/index", null, "");
                    Assert.Equal(401, reply.Status);
                }
            }
            finally
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }

            var current = Path.Combine(root, "audit.log");
            var rotated = current + ".1";
            Assert.True(File.Exists(rotated));
            Assert.InRange(new FileInfo(current).Length, 1, 4096);
            Assert.InRange(new FileInfo(rotated).Length, 2048, 4096);
            Assert.Equal(30, AuditLines(current).Count + AuditLines(rotated).Count);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
