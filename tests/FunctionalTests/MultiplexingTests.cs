using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Model multiplexing over HTTP (Inference:MaxResidentModels): versions load on demand, the least recently used
/// idle one is evicted, one with requests queued never is, and the index and metrics say what is resident.
/// </summary>
public sealed partial class MultiplexingTests : IAsyncDisposable
{
    private readonly TempModelRepository _models = new("mlp");
    private GatewayServer? _server;

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _models.Dispose();
    }

    [Fact]
    public async Task Infer_OtherModelWhileTheResidentOneHasRequestsQueued_503AndTheQueuedOnesAllSucceed()
    {
        // slowm: the slow model, 256 rows a request on one instance, each request alone (~1 s each on one idle
        // core): a queue of several seconds, longer than the load of mlp waits for room (ModelResidency.RoomWait).
        _models.AddVersion("slowm", 1, "slow", 1);
        _models.WriteConfig("slowm", """{"max_batch_size": 256, "instances": 1, "batching": "off", "max_queue_rows": 4096}""");
        _server = await GatewayServer.StartAsync(_models.Path, "--Inference:MaxResidentModels", "1");
        var client = _server.Client;
        Assert.Equal(new[] { true, false }, await ResidentAsync(client, "mlp", "slowm")); // loaded at start while there was room

        // A fast machine may drain the slow queue before the mlp request is decided; then the attempt cannot
        // tell and runs again. It tells when the last queued slow request was still unanswered after the mlp answer.
        HttpResponseMessage? refused = null;
        var slow = new List<Task<HttpResponseMessage>>();
        var attempts = new List<string>();
        for (var attempt = 1; refused is null; attempt++)
        {
            Assert.True(attempt <= 5, "the slow queue drained before every attempt: " + string.Join("; ", attempts));
            var running = SlowAsync(client);
            await Poll.UntilAsync(() => _server.Repository.GetReady("slowm") is [{ IsResident: true }], "slowm resident");
            var queued = Enumerable.Range(0, 8).Select(_ => SlowAsync(client)).ToArray();
            slow.Add(running);
            slow.AddRange(queued);
            await Poll.UntilAsync(() => _server.Repository.GetReady("slowm") is [{ QueuedRows: > 0 }], "a slowm request queued");

            var mlp = await client.PostAsync("v2/models/mlp/infer", MlpRequest());
            if (!queued[^1].IsCompleted) // run in order: the last queued one is answered last
            {
                refused = mlp;
            }
            else
            {
                var answered = await Task.WhenAll(slow);
                attempts.Add($"mlp {(int)mlp.StatusCode} {await mlp.Content.ReadAsStringAsync()}, slow {string.Join(",", answered.Select(r => (int)r.StatusCode))}");
                mlp.Dispose();
            }
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Contains("no room", await Oip.ReadErrorAsync(refused), StringComparison.Ordinal);
        Assert.Equal(new[] { false, true }, await ResidentAsync(client, "mlp", "slowm"));
        refused.Dispose();
        foreach (var response in await Task.WhenAll(slow))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            response.Dispose();
        }

        // Idle now: an explicit load counts against the same limit and evicts it.
        using var load = await client.PostAsync("v2/repository/models/mlp/load", null);
        Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        Assert.Equal(new[] { true, false }, await ResidentAsync(client, "mlp", "slowm"));
        using var served = await client.PostAsync("v2/models/mlp/infer", MlpRequest());
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.False(served.Headers.Contains("X-Model-Load-Ms")); // resident: it waited for no load
        Assert.True(MetricValue(await client.GetStringAsync("metrics"), "sg_model_evictions_total", "slowm") >= 1);
    }

    [Fact]
    public async Task Infer_FourModelsCycledUnderMaxResidentModels2_NoFailureAndNeverMoreThanTwoResident()
    {
        string[] names = ["m1", "m2", "m3", "m4"];
        foreach (var name in names)
        {
            _models.AddVersion(name, 1, "mlp", 1);
            _models.WriteConfig(name, """{"max_batch_size": 64, "instances": 1}""");
        }

        _server = await GatewayServer.StartAsync(_models.Path, "--Inference:MaxResidentModels", "2");
        var client = _server.Client;
        var residency = _server.Repository.Residency;
        var maxResident = 0;
        var maxIndexed = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                maxResident = Math.Max(maxResident, residency.ResidentCount);
                var resident = await ResidentAsync(client, [.. names, "mlp"]);
                maxIndexed = Math.Max(maxIndexed, resident.Count(r => r));
            }
        });

        // Two clients, each cycling over the four models from a different start: every request may need a load.
        var failures = new ConcurrentBag<string>();
        var waitedForLoad = 0;
        await Task.WhenAll(Enumerable.Range(0, 2).Select(c => Task.Run(async () =>
        {
            for (var i = 0; i < 24; i++)
            {
                var name = names[(i + (2 * c)) % names.Length];
                using var response = await client.PostAsync($"v2/models/{name}/infer", MlpRequest());
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add($"{name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
                else if (response.Headers.Contains("X-Model-Load-Ms"))
                {
                    Interlocked.Increment(ref waitedForLoad);
                }
            }
        })));
        await stop.CancelAsync();
        await sampler;

        Assert.Empty(failures);
        Assert.InRange(maxResident, 1, 2);
        Assert.InRange(maxIndexed, 1, 2);
        Assert.True(waitedForLoad > 0, "no response said it waited for a load");
        var metrics = await client.GetStringAsync("metrics");
        Assert.True(MetricValue(metrics, "sg_model_loads_total", "m3") >= 2, metrics);
        Assert.True(names.Sum(n => MetricValue(metrics, "sg_model_evictions_total", n)) >= 8, metrics);
        Assert.InRange(MetricValue(metrics, "sg_resident_models", null), 1, 2);
    }

    private static Task<HttpResponseMessage> SlowAsync(HttpClient client)
    {
        const int Rows = 256;
        var header = $$$"""{"inputs":[{"name":"x","shape":[{{{Rows}}},512],"datatype":"FP32","parameters":{"binary_data_size":{{{Rows * 512 * 4}}}}}],"parameters":{"binary_data_output":true}}""";
        return client.PostAsync("v2/models/slowm/infer", Oip.Binary(header, Oip.Bytes(Enumerable.Repeat(0.5f, Rows * 512).ToArray())));
    }

    private static ByteArrayContent MlpRequest() => Oip.Json(Oip.JsonRequest("input", [1, 64], new float[64]));

    // The index's "resident" of each model's version row, in the order asked.
    private static async Task<bool[]> ResidentAsync(HttpClient client, params string[] models)
    {
        using var response = await client.PostAsync("v2/repository/index", null);
        var rows = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.EnumerateArray().ToArray();
        return [.. models.Select(m => rows.Single(r => r.GetProperty("name").GetString() == m).GetProperty("resident").GetBoolean())];
    }

    // The value of a Prometheus sample (summed over its other labels); 0 when absent.
    private static double MetricValue(string text, string metric, string? model) =>
        text.Split('\n')
            .Where(l => l.StartsWith(metric, StringComparison.Ordinal) && (l.Length == metric.Length || l[metric.Length] is ' ' or '{'))
            .Where(l => model is null || l.Contains($"model=\"{model}\"", StringComparison.Ordinal))
            .Where(l => !l.Contains("outcome=\"failure\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(SampleValue().Match(l).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));

    [GeneratedRegex(@" ([0-9.eE+-]+)$")]
    private static partial Regex SampleValue();
}
