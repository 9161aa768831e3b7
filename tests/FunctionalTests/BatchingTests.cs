using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>The dynamic batcher over HTTP: statistics, queue limits, timeouts and priorities.</summary>
public sealed class BatchingTests : IAsyncLifetime
{
    private const int BusyRows = 32;
    private static readonly string SlowModel = Path.Combine(RepoPaths.TestModels, "slow", "1", "model.onnx");
    private static readonly string SlowRequest = Oip.JsonRequest("x", [1, 512], Enumerable.Repeat(0.5f, 512).ToArray());
    private readonly TempModelRepository _models = new("slow", "mlp");
    private GatewayServer _server = null!;

    private HttpClient Client => _server.Client;

    public async Task InitializeAsync()
    {
        // slowp: the slow model taking up to 256 rows, each request alone, two priority levels: a 256-row
        // request keeps the instance busy long enough to queue others behind it. Overload policy queue: these tests
        // are about a deep queue (a timeout that passes in it), not about refusing at the door.
        _models.AddVersion("slowp", 1, "slow", 1);
        _models.WriteConfig("slowp", """{"max_batch_size": 256, "instances": 1, "batching": "off", "priority_levels": 2, "overload": {"policy": "queue"}}""");

        // slowb: as slowp, with 1 MiB of inputs allowed to wait: four 128-row requests (256 KiB each) fill it.
        _models.AddVersion("slowb", 1, "slow", 1);
        _models.WriteConfig("slowb", """{"max_batch_size": 256, "instances": 1, "batching": "off", "max_queue_mb": 1, "overload": {"policy": "queue"}}""");

        // slowd: as slowp with the default overload policy (deadline) and latency_slo_ms 20: a request without a
        // timeout must be done within 40 ms, which nothing behind a 256-row run can be.
        _models.AddVersion("slowd", 1, "slow", 1);
        _models.WriteConfig("slowd", """{"max_batch_size": 256, "instances": 1, "batching": "off", "latency_slo_ms": 20}""");

        // slow-adaptive, slow-fixed: the slow model taking up to 32 rows on one instance, in each batching mode.
        foreach (var mode in new[] { "adaptive", "fixed" })
        {
            _models.AddVersion($"slow-{mode}", 1, "slow", 1);
            _models.WriteConfig($"slow-{mode}", $$"""{"max_batch_size": {{BusyRows}}, "instances": 1, "max_queue_rows": 64, "batching": "{{mode}}"}""");
        }

        _server = await GatewayServer.StartAsync(_models.Path);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _models.Dispose();
    }

    private Task<HttpResponseMessage> SlowAsync(string? parameters = null) =>
        Client.PostAsync("v2/models/slow/infer", Oip.Json(parameters is null ? SlowRequest : SlowRequest[..^1] + $",\"parameters\":{parameters}}}"));

    // Binary both ways, so that a 256-row request costs little to send and answer.
    private Task<HttpResponseMessage> SlowPAsync(int rows, string parameters, string model = "slowp")
    {
        var merged = parameters[..^1] + (parameters.Length > 2 ? "," : "") + "\"binary_data_output\":true}";
        var header = $$$"""{"inputs":[{"name":"x","shape":[{{{rows}}},512],"datatype":"FP32","parameters":{"binary_data_size":{{{rows * 512 * 4}}}}}],"parameters":{{{merged}}}}""";
        return Client.PostAsync($"v2/models/{model}/infer", Oip.Binary(header, Oip.Bytes(Enumerable.Repeat(0.5f, rows * 512).ToArray())));
    }

    [Fact]
    public async Task Stats_AfterInference_HasTritonShapeAndCounts()
    {
        var requests = Enumerable.Range(0, 16).Select(_ => Client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [2, 64], new float[128])))).ToArray();
        foreach (var response in await Task.WhenAll(requests))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            response.Dispose();
        }

        using var stats = await Client.GetAsync("v2/models/mlp/stats");
        var json = JsonDocument.Parse(await stats.Content.ReadAsStringAsync()).RootElement;
        var all = JsonDocument.Parse(await Client.GetStringAsync("v2/models/stats")).RootElement;
        var one = JsonDocument.Parse(await Client.GetStringAsync("v2/models/mlp/versions/1/stats")).RootElement;

        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
        var model = Assert.Single(json.GetProperty("model_stats").EnumerateArray());
        Assert.Equal("mlp", model.GetProperty("name").GetString());
        Assert.Equal("1", model.GetProperty("version").GetString());
        Assert.Equal(32, model.GetProperty("inference_count").GetInt64());
        var executions = model.GetProperty("execution_count").GetInt64();
        var histogram = model.GetProperty("batch_size_histogram").EnumerateObject().ToDictionary(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p => p.Value.GetInt64());
        Assert.Equal(32, histogram.Sum(p => p.Key * p.Value)); // every row ran exactly once, in whatever batches
        Assert.True(model.GetProperty("last_inference").GetInt64() > 0);
        var inference = model.GetProperty("inference_stats");
        foreach (var field in new[] { "success", "fail", "queue", "compute_input", "compute_infer", "compute_output", "cache_hit", "cache_miss" })
        {
            Assert.True(inference.GetProperty(field).TryGetProperty("count", out _), field);
            Assert.True(inference.GetProperty(field).TryGetProperty("ns", out _), field);
        }

        Assert.Equal(16, inference.GetProperty("success").GetProperty("count").GetInt64());
        Assert.Equal(16, inference.GetProperty("queue").GetProperty("count").GetInt64());
        Assert.Equal(16, inference.GetProperty("compute_infer").GetProperty("count").GetInt64());
        var batchStats = model.GetProperty("batch_stats").EnumerateArray().ToList();
        Assert.Equal(executions, batchStats.Sum(b => b.GetProperty("compute_infer").GetProperty("count").GetInt64()));
        Assert.All(batchStats, b => Assert.Equal(0, b.GetProperty("batch_size").GetInt32() % 2));
        Assert.Equal(executions, model.GetProperty("batch_size_histogram").EnumerateObject().Sum(p => p.Value.GetInt64()));
        Assert.Equal(["mlp", "slow", "slow-adaptive", "slow-fixed", "slowb", "slowd", "slowp"], all.GetProperty("model_stats").EnumerateArray().Select(m => m.GetProperty("name").GetString()).Order());
        Assert.Single(one.GetProperty("model_stats").EnumerateArray());
    }

    [Theory]
    [InlineData("adaptive")]
    [InlineData("fixed")]
    public async Task Infer_ConcurrentRequestsBehindBusyInstance_MergedIntoBatchesWithUnbatchedOutputs(string mode)
    {
        const int Requests = 16;
        var model = $"slow-{mode}";
        var version = _server.Repository.GetReady(model)![0];
        var rows = Enumerable.Range(0, Requests).Select(DistinctRow).ToArray();

        // The scenario needs all requests queued while the one instance runs a long batch. On a busy machine
        // the long batch may end before they are all queued; then the attempt cannot tell and runs again.
        for (var attempt = 1; ; attempt++)
        {
            var before = await StatsAsync(model);
            var dispatched = version.Statistics.Queue.Count;
            var busy = Client.PostAsync($"v2/models/{model}/infer", Oip.Json(Oip.JsonRequest("x", [BusyRows, 512], new float[BusyRows * 512])));
            await PollAsync(() => version.Statistics.Queue.Count > dispatched);
            var requests = rows.Select(row => Client.PostAsync($"v2/models/{model}/infer", Oip.Json(Oip.JsonRequest("x", [1, 512], row)))).ToArray();
            await PollAsync(() => version.QueuedRows >= Requests || busy.IsCompleted);
            var allQueued = version.QueuedRows >= Requests && !busy.IsCompleted;
            (await busy).Dispose();
            var responses = await Task.WhenAll(requests);
            var outputs = new List<float[]>();
            foreach (var response in responses)
            {
                using (response)
                {
                    outputs.Add((await Oip.ReadAsync(response)).Floats("y"));
                }
            }

            var after = await StatsAsync(model);
            if (!allQueued && attempt < 5)
            {
                continue;
            }

            Assert.True(allQueued, "the requests never all queued behind the busy instance in 5 attempts");

            // Batches run for the requests (the busy one aside): sizes in rows, from the statistics extension.
            var batches = after.Histogram.ToDictionary(p => p.Key, p => p.Value - before.Histogram.GetValueOrDefault(p.Key));
            batches[BusyRows]--;
            var executions = after.Executions - before.Executions - 1;
            Assert.Equal(Requests, batches.Sum(p => p.Key * p.Value));
            Assert.Equal(executions, batches.Sum(p => p.Value));
            Assert.True(executions < Requests, $"{executions} executions for {Requests} requests: nothing was merged");
            Assert.Contains(batches, p => p.Key > 1 && p.Value > 0);

            // Each request got its own rows' outputs, as the model computes them run alone.
            for (var i = 0; i < Requests; i++)
            {
                var expected = OrtReference.Run(SlowModel, ("x", [1, 512], rows[i]))["y"];
                AssertClose(expected, outputs[i], $"request {i}");
            }

            return;
        }
    }

    [Theory]
    [InlineData("v2/models/nope/stats")]
    [InlineData("v2/models/mlp/versions/9/stats")]
    public async Task Stats_UnknownModelOrVersion_Is404(string path)
    {
        using var response = await Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await Oip.ReadErrorAsync(response);
    }

    [Fact]
    public async Task Infer_QueueFull_Is503WithRetryAfterAndTheRestSucceed()
    {
        // slow: 1 instance, max_batch_size 1, max_queue_rows 2, about 10 ms a run; 12 at once cannot all fit.
        var refusedBefore = await RejectedCountAsync("slow", "queue_rows");
        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => SlowAsync()));
        try
        {
            var refused = responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();
            Assert.NotEmpty(refused);

            // Each refusal is counted under its reason in /metrics, and under no other.
            Assert.Equal(refusedBefore + refused.Count, await RejectedCountAsync("slow", "queue_rows"));
            Assert.Equal(0, await RejectedCountAsync("slow", "deadline"));
            Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, r.StatusCode.ToString()));
            foreach (var response in refused)
            {
                Assert.Contains("queue is full", await Oip.ReadErrorAsync(response), StringComparison.Ordinal);
                var retryAfter = response.Headers.RetryAfter?.Delta;
                Assert.NotNull(retryAfter);
                Assert.True(retryAfter >= TimeSpan.FromSeconds(1));
            }

            Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task Infer_QueueBytesFull_Is503WithRetryAfterWhileRowsRemain()
    {
        var version = _server.Repository.GetReady("slowb")![0];

        // The scenario needs the long run still going when the fifth request arrives; on a busy machine it may
        // end first (then the queue drained and the attempt cannot tell) and the attempt runs again.
        for (var attempt = 1; ; attempt++)
        {
            var dispatched = version.Statistics.Queue.Count;
            var busy = SlowPAsync(256, "{}", "slowb");
            await PollAsync(() => version.Statistics.Queue.Count > dispatched);
            var queued = new List<Task<HttpResponseMessage>>();
            for (var i = 1; i <= 4; i++)
            {
                queued.Add(SlowPAsync(128, "{}", "slowb"));
                await PollAsync(() => version.QueuedRows == 128 * queued.Count || busy.IsCompleted);
            }

            // 512 rows of 1024 wait, but their 1 MiB of inputs is the limit. The attempt tells only when nothing
            // had left the queue by the time the fifth was answered or admitted (513 rows).
            var sent = SlowPAsync(1, "{}", "slowb");
            await PollAsync(() => sent.IsCompleted || version.QueuedRows > 512);
            var decisive = version.Statistics.Queue.Count == dispatched + 1;
            using var fifth = await sent;
            var responses = await Task.WhenAll([busy, .. queued]);
            foreach (var response in responses)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                response.Dispose();
            }

            if (!decisive && attempt < 5)
            {
                continue;
            }

            Assert.True(decisive, "the long run ended before the queue filled, in 5 attempts");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, fifth.StatusCode);
            Assert.Contains("queue is full (1048576 bytes of inputs waiting, max_queue_mb allows 1048576)", await Oip.ReadErrorAsync(fifth), StringComparison.Ordinal);
            Assert.True(fifth.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
            Assert.Equal(0, version.QueuedRows);
            return;
        }
    }

    [Fact]
    public async Task Infer_TimeoutPassesInQueue_Is503AndNotComputed()
    {
        var statistics = _server.Repository.GetReady("slowp")![0].Statistics;
        var before = statistics.ExecutionCount;
        var busy = SlowPAsync(256, "{}");
        await PollAsync(() => statistics.Queue.Count > before);

        // Behind a 256-row run, a 1 µs timeout has passed long before the instance is free.
        using var timedOut = await SlowPAsync(1, """{"timeout":1}""");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, timedOut.StatusCode);
        Assert.Contains("timed out", await Oip.ReadErrorAsync(timedOut), StringComparison.Ordinal);
        Assert.NotNull(timedOut.Headers.RetryAfter);
        (await busy).Dispose();
        Assert.Equal(before + 1, statistics.ExecutionCount);
        Assert.Equal(0, _server.Repository.GetReady("slowp")![0].QueuedRows);
    }

    [Fact]
    public async Task Infer_DeadlineByDefault_WorkAheadPastTheSlo_Is503AtOnceCountedAsDeadline()
    {
        var version = _server.Repository.GetReady("slowd")![0];
        Assert.Matches(""""overload_policy":\s*\{\s*"string_value":\s*"deadline"""", await Client.GetStringAsync("v2/models/slowd/config"));
        var refusedBefore = await RejectedCountAsync("slowd", "deadline");
        // One 256-row run: the batcher learns its drain rate. With a timeout of its own: on a loaded machine the loop can
        // take longer than the 40 ms default deadline to dispatch it, and a request dropped in the queue teaches nothing
        // (then the request below was admitted with no rate known, and timed out in the queue instead of being refused).
        using (var teach = await SlowPAsync(256, """{"timeout":60000000}""", "slowd"))
        {
            Assert.Equal(HttpStatusCode.OK, teach.StatusCode);
        }

        var dispatched = version.Statistics.Queue.Count;
        // Both with their own 60 s deadline (a timeout), so both are admitted: one runs, one waits behind it.
        var busy = SlowPAsync(256, """{"timeout":60000000}""", "slowd");
        await PollAsync(() => version.Statistics.Queue.Count > dispatched);
        var patient = SlowPAsync(256, """{"timeout":60000000}""", "slowd");
        await PollAsync(() => version.QueuedRows == 256);

        // 256 rows ahead take about a 256-row run: far past 40 ms, even in the best case. Refused at once.
        using var refused = await SlowPAsync(1, "{}", "slowd");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        var error = await Oip.ReadErrorAsync(refused);
        Assert.StartsWith("overloaded: the work queued ahead would take about", error, StringComparison.Ordinal);
        Assert.EndsWith("past this request's deadline of 40 ms (latency_slo_ms 20 x slo_factor 2)", error, StringComparison.Ordinal);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal(refusedBefore + 1, await RejectedCountAsync("slowd", "deadline"));
        using var busyDone = await busy;
        using var patientDone = await patient;
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (busyDone.StatusCode, patientDone.StatusCode));
    }

    [Fact]
    public async Task Infer_HigherPriority_OvertakesQueuedLowerPriority()
    {
        var version = _server.Repository.GetReady("slowp")![0];
        var dispatched = version.Statistics.Queue.Count;
        var finished = new ConcurrentQueue<string>();
        async Task Send(string name, int rows, int priority)
        {
            using var response = await SlowPAsync(rows, $$"""{"priority":{{priority}}}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            finished.Enqueue(name);
        }

        // The scenario needs a queue: requests waiting while the instance runs a long batch. On a busy machine
        // the long batch may end before the queue forms; then the attempt cannot tell and runs again.
        for (var attempt = 1; ; attempt++)
        {
            finished.Clear();
            var busy = Send("busy", 256, 2);
            await PollAsync(() => version.Statistics.Queue.Count > dispatched);
            var lows = new List<Task>();
            for (var i = 1; i <= 3; i++)
            {
                lows.Add(Send($"low{i}", 1, 2));
                await PollAsync(() => version.QueuedRows + version.Statistics.Queue.Count - dispatched - 1 >= lows.Count);
            }

            var queuedBeforeHigh = version.QueuedRows;
            var high = Send("high", 1, 1);
            await Task.WhenAll([busy, high, .. lows]);
            dispatched = version.Statistics.Queue.Count;
            if (queuedBeforeHigh < 2 && attempt < 5)
            {
                continue;
            }

            Assert.True(queuedBeforeHigh >= 2, "no queue formed in 5 attempts");

            // Two lows still queued when high arrived: high runs before them (it finishes before the last).
            var order = finished.Where(n => n != "busy").ToList();
            Assert.True(order.IndexOf("high") < order.IndexOf("low3"), string.Join(", ", order));
            Assert.Equal(["low1", "low2", "low3"], order.Where(n => n != "high"));
            return;
        }
    }

    [Fact]
    public async Task Infer_PriorityOutOfRange_Is400()
    {
        using var response = await SlowPAsync(1, """{"priority":3}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("priority_levels 2", await Oip.ReadErrorAsync(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_HaveBatchQueueAndComputeSeries()
    {
        using var response = await Client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], new float[64])));

        var text = await Client.GetStringAsync("metrics");

        Assert.Matches("""sg_batch_size_bucket\{model="mlp",version="1",le="1"\} [1-9]""", text);
        Assert.Matches("""sg_queue_duration_seconds_count\{model="mlp",version="1"\} [1-9]""", text);
        Assert.Matches("""sg_compute_duration_seconds_count\{model="mlp",version="1"\} [1-9]""", text);
        Assert.Matches("""sg_queue_rows\{model="mlp",version="1"\} 0""", text);
    }

    // sg_queue_rejected_total of one model's version 1 for one reason: exported (at 0) from the first scrape on.
    private async Task<long> RejectedCountAsync(string model, string reason)
    {
        var text = await Client.GetStringAsync("metrics");
        var match = System.Text.RegularExpressions.Regex.Match(text, $$"""sg_queue_rejected_total\{model="{{model}}",version="1",reason="{{reason}}"\} (\d+)""");
        Assert.True(match.Success, $"no sg_queue_rejected_total series for {model}, {reason}");
        return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    // Row i: values around 0.5 + i / 50, so that any two requests' outputs differ far beyond the tolerance.
    private static float[] DistinctRow(int i) => [.. Enumerable.Range(0, 512).Select(j => 0.5f + (i / 50f) + ((j % 17) / 1000f))];

    private async Task<(long Executions, Dictionary<int, long> Histogram)> StatsAsync(string model)
    {
        var stats = JsonDocument.Parse(await Client.GetStringAsync($"v2/models/{model}/stats")).RootElement.GetProperty("model_stats")[0];
        return (
            stats.GetProperty("execution_count").GetInt64(),
            stats.GetProperty("batch_size_histogram").EnumerateObject().ToDictionary(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p => p.Value.GetInt64()));
    }

    // A batched row may differ from the row run alone in the last bits (another kernel blocking), never more.
    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var j = 0; j < expected.Length; j++)
        {
            Assert.True(Math.Abs(actual[j] - expected[j]) <= 1e-6 * Math.Abs(expected[j]), $"{what}: y[{j}] = {actual[j]}, run alone {expected[j]}");
        }
    }

    // A bounded poll of the server's own figures (a run has started, a request is queued).
    private static Task PollAsync(Func<bool> condition) => Poll.UntilAsync(condition, "the batcher to reach the state awaited");
}
