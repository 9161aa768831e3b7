using System.Net;
using System.Text.Json;
using ServingGateway.Auth;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.Inference.Catalog;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// A Triton-layout repository (config.pbtxt, no config.json) serves as its config.pbtxt says, and
/// <c>GET /v2/models/{m}[/versions/{v}]/config</c> answers the effective configuration in Triton's JSON form,
/// compared field by field with the pbtxt it came from; 404s; the infer role, at a standalone server and
/// through an edge (issue 12, items 1 and 3).
/// </summary>
public sealed class ModelConfigTests : IAsyncLifetime
{
    private const string InferKey = "config-infer";
    private const string DeployKey = "config-deploy";
    private const string NodeKey = "config-node";
    private static readonly string Pbtxt = File.ReadAllText(Path.Combine(RepoPaths.Root, "tests", "Assets", "triton", "mlp", "config.pbtxt"));
    private readonly TempModelRepository _models = new("versioned");
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"sg-modelconfig-{Guid.NewGuid():N}.json");
    private GatewayServer _server = null!;

    public async Task InitializeAsync()
    {
        for (var version = 1; version <= 3; version++)
        {
            _models.AddVersion("mlp", version, "mlp", 1);
        }

        _models.WriteFile("mlp", "config.pbtxt", Pbtxt);
        File.WriteAllText(_config, $$"""
            {
              "Auth": {
                "AllowAnonymous": false,
                "Keys": [
                  {"Name": "infer", "Sha256": "{{ApiKeyMiddleware.Hash(InferKey)}}", "Roles": ["infer"]},
                  {"Name": "deploy", "Sha256": "{{ApiKeyMiddleware.Hash(DeployKey)}}", "Roles": ["deploy"]}
                ]
              },
              "Node": {"Keys": [{"Name": "edge", "Sha256": "{{ApiKeyMiddleware.Hash(NodeKey)}}"}]}
            }
            """);
        _server = await GatewayServer.StartAsync(_models.Path, "--config", _config);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_config);
        _models.Dispose();
    }

    private static async Task<HttpResponseMessage> SendAsync(Uri server, HttpMethod method, string path, string? key = InferKey, string? body = null)
    {
        using var client = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Oip.Json(body) };
        if (key is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        return await client.SendAsync(request);
    }

    private async Task<JsonElement> GetConfigAsync(string path)
    {
        using var response = await SendAsync(_server.BaseAddress, HttpMethod.Get, path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Config_TritonRepository_EveryPbtxtFieldHasItsValue()
    {
        var config = await GetConfigAsync("v2/models/mlp/config");

        // Every field of the file, at the same path, with the same value (numbers as numbers, enums as strings)...
        AssertSameFields(TextProtoParser.Parse(Pbtxt), config, "", except: ["instance_group.kind", "instance_group.gpus"]);

        // ...except KIND_AUTO, which says where the sessions really run: on CPU (no CUDA here), or on the GPU listed.
        var group = Assert.Single(config.GetProperty("instance_group").EnumerateArray());
        var kind = group.GetProperty("kind").GetString();
        var gpus = group.GetProperty("gpus").EnumerateArray().Select(g => g.GetInt32()).ToArray();
        Assert.True((kind, gpus) is ("KIND_CPU", []) or ("KIND_GPU", [0]), $"{kind} on [{string.Join(", ", gpus)}]");
        Assert.Equal(2, group.GetProperty("count").GetInt32());

        // Our own settings under Triton's parameters, as string_value.
        var parameters = config.GetProperty("parameters");
        Assert.Equal("3", parameters.GetProperty("version").GetProperty("string_value").GetString());
        Assert.StartsWith("sha256:", parameters.GetProperty("digest").GetProperty("string_value").GetString(), StringComparison.Ordinal);
        Assert.Equal("fixed", parameters.GetProperty("batching").GetProperty("string_value").GetString());
        Assert.Equal("auto", parameters.GetProperty("execution_provider").GetProperty("string_value").GetString());
        Assert.Equal("16", parameters.GetProperty("max_queue_rows").GetProperty("string_value").GetString());
    }

    [Fact]
    public async Task Config_OfAVersion_IsThatVersions()
    {
        using var response = await SendAsync(_server.BaseAddress, HttpMethod.Get, "v2/models/mlp/versions/1/config");
        var config = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1", Assert.Single(response.Headers.GetValues("X-Model-Version")));
        Assert.Equal("1", config.GetProperty("parameters").GetProperty("version").GetProperty("string_value").GetString());
        Assert.Equal(8, config.GetProperty("max_batch_size").GetInt32());
    }

    [Fact]
    public async Task Config_ConfigJsonModel_AnswersTritonsForm()
    {
        var config = await GetConfigAsync("v2/models/versioned/config");

        Assert.Equal("versioned", config.GetProperty("name").GetString());
        Assert.Equal("onnxruntime_onnx", config.GetProperty("platform").GetString());
        Assert.Equal("onnxruntime", config.GetProperty("backend").GetString());
        Assert.Equal(JsonValueKind.Object, config.GetProperty("version_policy").GetProperty("all").ValueKind);
        Assert.Equal(8, config.GetProperty("max_batch_size").GetInt32());
        var input = Assert.Single(config.GetProperty("input").EnumerateArray());
        Assert.Equal(("x", "TYPE_FP32", "[4]"), (input.GetProperty("name").GetString(), input.GetProperty("data_type").GetString(), input.GetProperty("dims").GetRawText()));
        Assert.Equal(5000, config.GetProperty("dynamic_batching").GetProperty("max_queue_delay_microseconds").GetInt64());
        Assert.Equal("adaptive", config.GetProperty("parameters").GetProperty("batching").GetProperty("string_value").GetString());
        Assert.False(config.GetProperty("response_cache").GetProperty("enable").GetBoolean());
    }

    [Fact]
    public async Task TritonRepository_ServesAsConfigured()
    {
        using var index = await SendAsync(_server.BaseAddress, HttpMethod.Post, "v2/repository/index", DeployKey);
        var rows = JsonDocument.Parse(await index.Content.ReadAsStringAsync()).RootElement.EnumerateArray()
            .Where(r => r.GetProperty("name").GetString() == "mlp").Select(r => (r.GetProperty("version").GetString(), r.GetProperty("state").GetString()));
        using var inferred = await SendAsync(_server.BaseAddress, HttpMethod.Post, "v2/models/mlp/infer", body: Oip.JsonRequest("input", [1, 64], new float[64]));
        using var tooManyRows = await SendAsync(_server.BaseAddress, HttpMethod.Post, "v2/models/mlp/infer", body: Oip.JsonRequest("input", [9, 64], new float[9 * 64]));
        using var priority3 = await SendAsync(_server.BaseAddress, HttpMethod.Post, "v2/models/mlp/infer",
            body: """{"parameters":{"priority":3},"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[""" + string.Join(",", new int[64]) + "]}]}");
        using var version2 = await SendAsync(_server.BaseAddress, HttpMethod.Post, "v2/models/mlp/versions/2/infer", body: Oip.JsonRequest("input", [1, 64], new float[64]));

        // version_policy specific [1, 3]: 3 and 1 load, 2 is not served.
        Assert.Equal([("3", "READY"), ("1", "READY")], rows);
        Assert.Equal(HttpStatusCode.NotFound, version2.StatusCode);

        // response_cache enable: the cache is consulted (a miss), not bypassed as for a model without it.
        Assert.Equal(HttpStatusCode.OK, inferred.StatusCode);
        Assert.Equal("3", Assert.Single(inferred.Headers.GetValues("X-Model-Version")));
        Assert.NotEqual("bypass", Assert.Single(inferred.Headers.GetValues("X-Cache")));

        // max_batch_size 8 and priority_levels 2.
        Assert.Equal(HttpStatusCode.BadRequest, tooManyRows.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, priority3.StatusCode);
        Assert.Contains("priority_levels 2", await Oip.ReadErrorAsync(priority3), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v2/models/nosuch/config", "unknown model 'nosuch'")]
    [InlineData("v2/models/mlp/versions/2/config", "model 'mlp' has no version 2")]
    [InlineData("v2/models/mlp/versions/latest/config", "versions are numbers")]
    [InlineData("v2/models/nosuch/versions/1/config", "unknown model 'nosuch'")]
    public async Task Config_UnknownModelOrVersion_Is404Json(string path, string expected)
    {
        using var response = await SendAsync(_server.BaseAddress, HttpMethod.Get, path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains(expected, await Oip.ReadErrorAsync(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_NeedsTheInferRole()
    {
        using var noKey = await SendAsync(_server.BaseAddress, HttpMethod.Get, "v2/models/mlp/config", key: null);
        using var deploy = await SendAsync(_server.BaseAddress, HttpMethod.Get, "v2/models/mlp/versions/1/config", DeployKey);
        using var infer = await SendAsync(_server.BaseAddress, HttpMethod.Get, "v2/models/mlp/versions/1/config", InferKey);

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, deploy.StatusCode);
        Assert.Contains("lacks the infer role", await Oip.ReadErrorAsync(deploy), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
    }

    [Fact]
    public async Task Config_ThroughAnEdge_ForwardedWithTheInferRoleOnly()
    {
        await using var node = await GatewayServer.StartAsync(_models.Path, "--role", "node", "--config", _config);
        await using var edge = await GatewayServer.StartAsync(_models.Path, "--role", "edge", "--node", node.BaseAddress.ToString().TrimEnd('/'),
            "--Edge:NodeKey", NodeKey, "--config", _config);

        using var model = await SendAsync(edge.BaseAddress, HttpMethod.Get, "v2/models/mlp/config");
        using var version = await SendAsync(edge.BaseAddress, HttpMethod.Get, "v2/models/mlp/versions/1/config");
        using var deploy = await SendAsync(edge.BaseAddress, HttpMethod.Get, "v2/models/mlp/config", DeployKey);
        using var direct = await SendAsync(node.BaseAddress, HttpMethod.Get, "v2/models/mlp/config", NodeKey);

        Assert.Equal(HttpStatusCode.OK, model.StatusCode);
        Assert.Equal(await direct.Content.ReadAsStringAsync(), await model.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, version.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, deploy.StatusCode);
    }

    // Each field of the pbtxt message is a property of the JSON object: repeated fields (both spellings) an
    // array of as many values, messages objects, strings and enum values strings, numbers the same number.
    private static void AssertSameFields(TextProtoMessage message, JsonElement json, string path, string[] except)
    {
        Assert.Equal(JsonValueKind.Object, json.ValueKind);
        foreach (var group in message.Fields.GroupBy(f => f.Name))
        {
            var fieldPath = path + group.Key;
            if (except.Contains(fieldPath))
            {
                continue;
            }

            Assert.True(json.TryGetProperty(group.Key, out var value), $"{fieldPath} is missing from {json}");
            if (value.ValueKind == JsonValueKind.Array)
            {
                Assert.True(group.Count() == value.GetArrayLength(), $"{fieldPath}: {group.Count()} values in the pbtxt, {value}");
                foreach (var (field, element) in group.Zip(value.EnumerateArray()))
                {
                    AssertSameValue(field, element, fieldPath, except);
                }
            }
            else
            {
                Assert.True(group.Count() == 1, $"{fieldPath}: {group.Count()} values in the pbtxt, one in the JSON: {value}");
                AssertSameValue(group.Single(), value, fieldPath, except);
            }
        }
    }

    private static void AssertSameValue(TextProtoField field, JsonElement value, string path, string[] except)
    {
        if (field.Message is { } message)
        {
            AssertSameFields(message, value, path + ".", except);
            return;
        }

        var token = field.Scalar!.Value;
        var actual = token.Kind switch
        {
            TextProtoTokenKind.Number => value.ValueKind == JsonValueKind.Number ? value.GetRawText() : $"not a number: {value}",
            TextProtoTokenKind.Identifier when token.Text is "true" or "false" => value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetRawText() : $"not a boolean: {value}",
            _ => value.ValueKind == JsonValueKind.String ? value.GetString() : $"not a string: {value}",
        };
        Assert.True(token.Text == actual, $"{path}: {token.Text} in the pbtxt (line {token.Line}), {actual} in the JSON");
    }
}
