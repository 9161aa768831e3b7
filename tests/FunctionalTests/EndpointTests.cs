using System.Net;
using System.Text.Json;
using ServingGateway.FunctionalTests.Infrastructure;

namespace ServingGateway.FunctionalTests;

/// <summary>Health, server and model metadata, model readiness and metrics over HTTP.</summary>
public class EndpointTests(TestAssetsServer fixture) : IClassFixture<TestAssetsServer>
{
    private HttpClient Client => fixture.Server.Client;

    private async Task<JsonElement> GetJsonAsync(string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await Client.GetAsync(path);
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    [Fact]
    public async Task Health_LiveAndReady_Are200()
    {
        Assert.True((await GetJsonAsync("v2/health/live")).GetProperty("live").GetBoolean());
        Assert.True((await GetJsonAsync("v2/health/ready")).GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task ServerMetadata_NamesVersionAndExtensions()
    {
        var json = await GetJsonAsync("v2");

        Assert.Equal("servinggateway", json.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("version").GetString()));
        Assert.Equal(["binary_tensor_data", "model_repository", "statistics", "schedule_policy"], json.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task ModelMetadata_Mlp_DescribesTensorsWithDynamicBatchAndDigest()
    {
        using var response = await Client.GetAsync("v2/models/mlp");
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("mlp", json.GetProperty("name").GetString());
        Assert.Equal(["1"], json.GetProperty("versions").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("onnxruntime_onnx", json.GetProperty("platform").GetString());
        var input = json.GetProperty("inputs")[0];
        Assert.Equal("input", input.GetProperty("name").GetString());
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        Assert.Equal([-1L, 64L], input.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([-1L, 10L], json.GetProperty("outputs")[0].GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        var digest = json.GetProperty("parameters").GetProperty("digest").GetString();
        Assert.Matches("^sha256:[0-9a-f]{64}$", digest);
        Assert.Equal(digest, response.Headers.GetValues("X-Model-Digest").Single());
        Assert.Equal("1", response.Headers.GetValues("X-Model-Version").Single());
        Assert.Equal(64, json.GetProperty("parameters").GetProperty("max_batch_size").GetInt32());
    }

    [Fact]
    public async Task ModelMetadata_Versioned_ListsAllReadyVersionsOrTheOneAskedFor()
    {
        var all = await GetJsonAsync("v2/models/versioned");
        var two = await GetJsonAsync("v2/models/versioned/versions/2");

        Assert.Equal(["3", "2", "1"], all.GetProperty("versions").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["2"], two.GetProperty("versions").EnumerateArray().Select(e => e.GetString()));
        Assert.NotEqual(
            all.GetProperty("parameters").GetProperty("digest").GetString(),
            two.GetProperty("parameters").GetProperty("digest").GetString());
    }

    [Fact]
    public async Task ModelMetadata_FixedShapeModel_HasNoBatchDimension()
    {
        var json = await GetJsonAsync("v2/models/fixed");

        Assert.Equal([2L, 3L], json.GetProperty("inputs")[0].GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(0, json.GetProperty("parameters").GetProperty("max_batch_size").GetInt32());
    }

    [Theory]
    [InlineData("v2/models/nope", "unknown model 'nope'")]
    [InlineData("v2/models/mlp/versions/7", "has no version 7")]
    [InlineData("v2/models/mlp/versions/x", "versions are numbers")]
    [InlineData("v2/models/broken", "no ready version")]
    [InlineData("v2/models/nope/ready", "unknown model 'nope'")]
    public async Task ModelMetadataOrReady_UnknownModelOrVersion_Is404Json(string path, string expected)
    {
        using var response = await Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains(expected, await Oip.ReadErrorAsync(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelReady_ReadyVersion_Is200_BrokenModel_Is503()
    {
        var ready = await GetJsonAsync("v2/models/versioned/versions/1/ready");
        using var broken = await Client.GetAsync("v2/models/broken/ready");

        Assert.True(ready.GetProperty("ready").GetBoolean());
        Assert.Equal("1", ready.GetProperty("version").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, broken.StatusCode);
        Assert.Contains("no ready version", await Oip.ReadErrorAsync(broken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RepositoryIndex_ListsEveryModelWithStateAndReason()
    {
        using var response = await Client.PostAsync("v2/repository/index", null);
        var rows = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.EnumerateArray().ToList();
        using var readyOnly = await Client.PostAsync("v2/repository/index", Oip.Json("""{"ready": true}"""));
        var readyRows = JsonDocument.Parse(await readyOnly.Content.ReadAsStringAsync()).RootElement.EnumerateArray().ToList();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var broken = rows.Single(r => r.GetProperty("name").GetString() == "broken");
        Assert.Equal("UNAVAILABLE", broken.GetProperty("state").GetString());
        Assert.Contains("Protobuf", broken.GetProperty("reason").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(3, rows.Count(r => r.GetProperty("name").GetString() == "versioned" && r.GetProperty("state").GetString() == "READY"));
        Assert.DoesNotContain(readyRows, r => r.GetProperty("state").GetString() != "READY");
        Assert.Equal(rows.Count - 1, readyRows.Count);
    }

    [Fact]
    public async Task Metrics_CountInferenceByModelVersionAndOutcome()
    {
        using var ok = await Client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], new float[64])));
        using var bad = await Client.PostAsync("v2/models/mlp/infer", Oip.Json("{}"));
        using var unknown = await Client.PostAsync("v2/models/nosuchmodel/infer", Oip.Json("{}"));

        var text = await Client.GetStringAsync("metrics");

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Matches("""sg_inference_requests_total\{model="mlp",version="1",outcome="success"\} [1-9]""", text);
        Assert.Matches("""sg_inference_requests_total\{model="mlp",version="1",outcome="client_error"\} [1-9]""", text);
        Assert.Matches("""sg_inference_request_duration_seconds_bucket\{model="mlp",version="1",outcome="success",le="[^"]+"\} [1-9]""", text);
        Assert.DoesNotContain("nosuchmodel", text, StringComparison.Ordinal);
        Assert.Contains("process_cpu_seconds_total", text, StringComparison.Ordinal);
    }
}
