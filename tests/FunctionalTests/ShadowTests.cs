using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using ServingGateway.Deployments;
using ServingGateway.Deployments.Shadow;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Shadow mirroring on a real standalone server: model <c>scaled</c> has version 2 (y = 2x) and version 3 (y = 3x), so
/// the shadow's outputs differ from the caller's by exactly ||3x - 2x|| / ||2x|| = 0.5. The caller's requests go to
/// version 2 over HTTP; each is offered to the mirroring as the deployments middleware offers it (the request and the
/// answer as they went over the wire), and version 3 runs it in process.
/// </summary>
public sealed class ShadowTests : IAsyncLifetime
{
    private const string Model = ScaledModel.Name;
    private readonly TempModelRepository _models = ScaledRepository();
    private GatewayServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await GatewayServer.StartAsync(_models.Path);
    }

    /// <summary>A temporary repository with model scaled, versions 2 and 3 both served, its cache on.</summary>
    internal static TempModelRepository ScaledRepository()
    {
        var models = new TempModelRepository();
        ScaledModel.AddTo(models, """{"max_batch_size": 8, "instances": 1, "version_policy": {"all": {}}, "cache": {"enable": true, "admission": "always"}}""");
        return models;
    }

    /// <summary>
    /// Sends <paramref name="requests"/> caller requests to version 2 through <paramref name="server"/>, half asking for
    /// binary outputs, checks each answer names version 2, and offers each to the server's mirroring for version 3.
    /// </summary>
    internal static async Task MirrorCallersAsync(GatewayServer server, int requests)
    {
        var mirroring = server.Services<ShadowMirroring>();
        var shadow = new ShadowMirror(3, 1);
        for (var i = 0; i < requests; i++)
        {
            // Half the callers ask for binary outputs: the shadow's answer comes in the same form, and compares alike.
            var binary = i % 2 == 1;
            var body = Oip.JsonRequest("x", [2, 4], [.. Enumerable.Range(0, 8).Select(k => (float)(k - 3.5 + i))], extra: binary ? ""","outputs":[{"name":"y","parameters":{"binary_data":true}}]""" : "");
            Assert.True(mirroring.ShouldMirror(Model, shadow));
            using var response = await server.Client.PostAsync($"v2/models/{Model}/versions/2/infer", Oip.Json(body));
            var answer = await response.Content.ReadAsByteArrayAsync();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("2", response.Headers.GetValues("X-Model-Version").Single());
            Assert.Equal(binary, response.Headers.Contains(Oip.HeaderLength));
            var headerLength = response.Headers.TryGetValues(Oip.HeaderLength, out var values) ? values.Single() : null;
            Assert.True(mirroring.TryOffer(Model, shadow.Version, Encoding.UTF8.GetBytes(body), "application/json", null, answer, headerLength, (int)response.StatusCode));
        }
    }

    /// <summary>The value of sg_... {model="scaled", version=<paramref name="version"/>, <paramref name="label"/>} in the server's /metrics (0 when absent).</summary>
    internal static async Task<double> SeriesAsync(GatewayServer server, string name, string label, string version = "3")
    {
        var labels = $"model=\"{Model}\",version=\"{version}\"" + (label.Length > 0 ? "," + label : "");
        var prefix = $"{name}{{{labels}}} ";
        var metrics = await server.Client.GetStringAsync("metrics");
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[prefix.Length..], CultureInfo.InvariantCulture);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _models.Dispose();
    }

    [Fact]
    public async Task Mirrored_VersionsTwoXAndThreeX_DivergenceExactlyHalfAndNoCallerSeesTheShadow()
    {
        const int Requests = 12;
        await MirrorCallersAsync(_server, Requests);

        await Poll.UntilAsync(async () => await SeriesAsync("sg_shadow_requests_total", "outcome=\"compared\"") == Requests, "every mirrored request compared");

        Assert.Equal(Requests, await SeriesAsync("sg_shadow_divergence_count", ""));
        Assert.Equal(0.5 * Requests, await SeriesAsync("sg_shadow_divergence_sum", ""));
        Assert.Equal(Requests, await SeriesAsync("sg_shadow_divergence_bucket", "le=\"0.5\""));
        Assert.Equal(0, await SeriesAsync("sg_shadow_divergence_bucket", "le=\"0.2\""));
        Assert.Equal(0, await SeriesAsync("sg_shadow_requests_total", "outcome=\"error\""));
        Assert.Equal(0, await SeriesAsync("sg_shadow_requests_total", "outcome=\"dropped\""));
        // The shadow's requests are version 3's (its statistics), and only those: no caller asked version 3.
        Assert.Equal(Requests, await SuccessesAsync("3"));
        Assert.Equal(Requests, await SuccessesAsync("2"));
    }

    [Fact]
    public async Task Mirrored_ShadowVersionNotServed_CountedAsItsError()
    {
        var mirroring = _server.Services<ShadowMirroring>();
        var body = Oip.JsonRequest("x", [1, 4], [1f, 2f, 3f, 4f]);
        using var response = await _server.Client.PostAsync($"v2/models/{Model}/versions/2/infer", Oip.Json(body));
        var answer = await response.Content.ReadAsByteArrayAsync();

        Assert.True(mirroring.TryOffer(Model, 7, Encoding.UTF8.GetBytes(body), "application/json", null, answer, null, (int)response.StatusCode));
        await Poll.UntilAsync(async () => await SeriesAsync("sg_shadow_requests_total", "outcome=\"error\"", "7") == 1, "the shadow's error counted");

        Assert.Equal(0, await SeriesAsync("sg_shadow_requests_total", "outcome=\"compared\"", "7"));
    }

    [Fact]
    public async Task ReadAnswers_JsonAndBinaryOutputsOfOneRequest_DivergenceZero()
    {
        // The node's own writer, both forms: the reader decodes them to the same values.
        float[] x = [0.1f, -7.3f, 1e-20f, 3.4e38f / 3];
        var input = Oip.JsonRequest("x", [1, 4], x);
        var binaryInput = Oip.JsonRequest("x", [1, 4], x, extra: ""","outputs":[{"name":"y","parameters":{"binary_data":true}}]""");
        using var json = await _server.Client.PostAsync($"v2/models/{Model}/versions/3/infer", Oip.Json(input));
        using var binary = await _server.Client.PostAsync($"v2/models/{Model}/versions/3/infer", Oip.Json(binaryInput));

        var fromJson = InferAnswerReader.Read(await json.Content.ReadAsByteArrayAsync(), null);
        var fromBinary = InferAnswerReader.Read(
            await binary.Content.ReadAsByteArrayAsync(), int.Parse(binary.Headers.GetValues(Oip.HeaderLength).Single(), CultureInfo.InvariantCulture));

        Assert.Equal(new ShadowComparison(0), OutputDivergence.Compare(fromJson, fromBinary));
        Assert.Equal(x.Select(v => v * 3f), fromBinary["y"].Values.Select(v => (float)v));
    }

    private Task<double> SeriesAsync(string name, string label, string version = "3") => SeriesAsync(_server, name, label, version);

    private async Task<long> SuccessesAsync(string version)
    {
        var stats = JsonDocument.Parse(await _server.Client.GetStringAsync($"v2/models/{Model}/versions/{version}/stats")).RootElement;
        return stats.GetProperty("model_stats")[0].GetProperty("inference_stats").GetProperty("success").GetProperty("count").GetInt64();
    }
}
