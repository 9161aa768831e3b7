using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Input drift over HTTP (issue 15 item 2): the test model "types" (an input of every datatype, [batch, 3] each) with
/// config.json drift on, every request sampled, each request a batch of 4 rows, windows of 500 requests (2000 rows: PSI's
/// noise floor over ten bins is about 9 x 2 / 2000 = 0.009, docs/CONFIGURATION.md). 500 requests drawn like the reference
/// (the first 500) give PSI below 0.1 on every input; 500 with x_fp32 shifted by one standard deviation and x_int64's
/// tokens swapped for others give PSI above 0.2 on those two and below 0.1 on the rest.
/// </summary>
public sealed class DriftTests : IAsyncLifetime
{
    private const int Requests = 500;
    private const int Rows = 4;
    private const int Window = Requests * Rows;

    private readonly TempModelRepository _models = new("types", "mlp");
    private GatewayServer _server = null!;

    public async Task InitializeAsync()
    {
        _models.WriteConfig("types", $$$"""{"max_batch_size": 8, "instances": 1, "drift": {"enable": true, "sample_ratio": 1, "window": {{{Window}}}, "threshold": 0.2}}""");
        _server = await GatewayServer.StartAsync(_models.Path);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _models.Dispose();
    }

    [Fact]
    public async Task Drift_ReferenceLikeThenShifted_PsiLowEverywhereThenHighOnTheShiftedInputsOnly()
    {
        var random = new Random(20261130);
        await SendAsync(random, Requests, shifted: false); // the reference window
        await SendAsync(random, Requests, shifted: false);
        var same = await WaitForWindowsAsync(1);
        await SendAsync(random, Requests, shifted: true);
        var drifted = await WaitForWindowsAsync(2);

        Assert.Equal("window", same.Reference);
        Assert.Equal(13, same.Psi.Count); // every input but the BYTES one
        Assert.All(same.Psi, p => Assert.True(p.Value < 0.1, $"reference-like: {p.Key} PSI {p.Value}"));
        Assert.All(drifted.Psi.Where(p => p.Key is "x_fp32" or "x_int64"), p => Assert.True(p.Value > 0.2, $"shifted: {p.Key} PSI {p.Value}"));
        Assert.All(drifted.Psi.Where(p => p.Key is not "x_fp32" and not "x_int64"), p => Assert.True(p.Value < 0.1, $"not shifted: {p.Key} PSI {p.Value}"));
        Assert.Equal(["x_fp32", "x_int64"], drifted.Drifting.Order());
        Assert.Contains(drifted.Top, f => f.StartsWith("x_fp32[", StringComparison.Ordinal));

        var metrics = await _server.Client.GetStringAsync("metrics");
        var gauge = metrics.Split('\n').Single(l => l.StartsWith("sg_input_drift_psi{model=\"types\",version=\"1\",input=\"x_fp32\"}", StringComparison.Ordinal));
        Assert.Equal(drifted.Psi["x_fp32"], double.Parse(gauge.Split(' ')[1], CultureInfo.InvariantCulture), 5);
    }

    [Fact]
    public async Task Drift_UnknownModelOrVersion_JsonNotFound()
    {
        using var model = await _server.Client.GetAsync("v2/models/nope/drift");
        using var version = await _server.Client.GetAsync("v2/models/types/versions/9/drift");

        Assert.Equal(HttpStatusCode.NotFound, model.StatusCode);
        Assert.Contains("unknown model", await Oip.ReadErrorAsync(model), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, version.StatusCode);
        Assert.False(string.IsNullOrEmpty(await Oip.ReadErrorAsync(version)));
    }

    [Fact]
    public async Task Drift_ModelWithoutDrift_SaysDisabledAndExportsNoGauge()
    {
        using var json = JsonDocument.Parse(await _server.Client.GetStringAsync("v2/models/mlp/versions/1/drift"));

        Assert.False(json.RootElement.GetProperty("versions")[0].GetProperty("enabled").GetBoolean());
        Assert.DoesNotContain("sg_input_drift_psi{model=\"mlp\"", await _server.Client.GetStringAsync("metrics"), StringComparison.Ordinal);
    }

    // Polls the drift endpoint until `windows` live windows are complete; returns the last one's figures.
    private async Task<(string Reference, Dictionary<string, double> Psi, string[] Drifting, string[] Top)> WaitForWindowsAsync(int windows)
    {
        JsonElement version = default;
        await Poll.UntilAsync(
            async () =>
            {
                using var json = JsonDocument.Parse(await _server.Client.GetStringAsync("v2/models/types/drift"));
                version = json.RootElement.GetProperty("versions")[0].Clone();
                return version.GetProperty("live").GetProperty("windows").GetInt32() >= windows;
            },
            $"{windows} drift windows");

        Assert.Equal(0, version.GetProperty("dropped_samples").GetInt64());
        var inputs = version.GetProperty("inputs").EnumerateArray().ToList();
        return (
            version.GetProperty("reference").GetProperty("source").GetString()!,
            inputs.ToDictionary(i => i.GetProperty("name").GetString()!, i => i.GetProperty("psi").GetDouble()),
            [.. inputs.Where(i => i.GetProperty("drifting").GetBoolean()).Select(i => i.GetProperty("name").GetString()!)],
            [.. version.GetProperty("top").EnumerateArray().Select(f => f.GetProperty("feature").GetString()!)]);
    }

    // count requests of Rows rows: floats ~ N(0, 1) (x_fp32 ~ N(1, 1) when shifted), x_int64 and x_int32 tokens with
    // frequencies 1 / (k + 1) over 30 (x_int64's moved to 100.. when shifted), x_uint8 uniform 0..5, x_bool true 30%.
    private async Task SendAsync(Random random, int count, bool shifted)
    {
        for (var i = 0; i < count; i++)
        {
            var inputs = new StringBuilder();
            inputs.Append(Input("x_bool", "BOOL", Row(() => random.NextDouble() < 0.3 ? "true" : "false")));
            inputs.Append(Input("x_uint8", "UINT8", Row(() => Int(random.Next(6)))));
            foreach (var (name, type) in ((string, string)[])[("x_uint16", "UINT16"), ("x_uint32", "UINT32"), ("x_uint64", "UINT64"), ("x_int8", "INT8"), ("x_int16", "INT16")])
            {
                inputs.Append(Input(name, type, Row(() => "0")));
            }

            inputs.Append(Input("x_int32", "INT32", Row(() => Int(Zipf(random)))));
            inputs.Append(Input("x_int64", "INT64", Row(() => Int(Zipf(random) + (shifted ? 100 : 0)))));
            inputs.Append(Input("x_fp16", "FP16", Row(() => Real(Normal(random, 0)))));
            inputs.Append(Input("x_fp32", "FP32", Row(() => Real(Normal(random, shifted ? 1 : 0)))));
            inputs.Append(Input("x_fp64", "FP64", Row(() => Real(Normal(random, 0)))));
            inputs.Append(Input("x_bf16", "BF16", Row(() => Real(Normal(random, 0)))));
            inputs.Append($$"""{"name": "x_string", "datatype": "BYTES", "shape": [{{Rows}}, 3], "data": [{{Row(() => "\"a\"")}}]}""");
            using var response = await _server.Client.PostAsync("v2/models/types/infer", Oip.Json($$"""{"inputs": [{{inputs}}]}"""));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        static string Input(string name, string type, string data) => $$"""{"name": "{{name}}", "datatype": "{{type}}", "shape": [{{Rows}}, 3], "data": [{{data}}]}, """;
        static string Row(Func<string> draw) => string.Join(", ", Enumerable.Range(0, Rows * 3).Select(_ => draw()));
        static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
        static string Real(double value) => value.ToString("R", CultureInfo.InvariantCulture);
    }

    private static double Normal(Random random, double mean) =>
        mean + (Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));

    private static int Zipf(Random random)
    {
        var draw = random.NextDouble() * Enumerable.Range(1, 30).Sum(k => 1.0 / k);
        for (var k = 0; k < 30; k++)
        {
            draw -= 1.0 / (k + 1);
            if (draw <= 0)
            {
                return k;
            }
        }

        return 29;
    }
}
