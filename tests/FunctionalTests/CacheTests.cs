using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>The prediction cache over HTTP, with a real redis-server on a free loopback port.</summary>
public sealed class CacheTests : IAsyncLifetime
{
    private readonly RedisServer _redis = new();
    private readonly TempModelRepository _models = new("mlp", "dynamic");
    private GatewayServer _server = null!;

    public async Task InitializeAsync()
    {
        // Admission "always": these tests are about the tiers, keys and sharing; the default admission has its own tests.
        _models.WriteConfig("mlp", """{"max_batch_size": 64, "instances": 2, "cache": {"enable": true, "ttl_seconds": 300, "admission": "always"}}""");
        _server = await StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _models.Dispose();
        _redis.Dispose();
    }

    // A generous read budget: on a busy 2-core test machine a 2 ms budget would open the circuit now and
    // then, and these tests are about sharing and recovery (the budget has its own test).
    private int _probeSeed = 3_000_000;

    private static readonly string[] CacheArgs = ["--Cache:RedisReadBudgetMs", "200", "--Cache:RedisOpenSeconds", "0.2"];

    private Task<GatewayServer> StartAsync() =>
        GatewayServer.StartAsync(_models.Path, ["--redis", _redis.Endpoint, .. CacheArgs]);

    private static string Request(int seed, string extra = "") =>
        Oip.JsonRequest("input", [1, 64], [.. Enumerable.Range(0, 64).Select(i => (float)((seed * 64) + i))], id: $"id-{seed}", extra: extra);

    private static async Task<(string Cache, Oip.Response Response)> InferAsync(GatewayServer server, string body)
    {
        using var response = await server.Client.PostAsync("v2/models/mlp/infer", Oip.Json(body));
        var cache = response.Headers.GetValues("X-Cache").Single();
        return (cache, await Oip.ReadAsync(response));
    }

    [Fact]
    public async Task Infer_Repeated_MissThenHitWithTheCallersIdAndSameOutputs()
    {
        var (first, firstResponse) = await InferAsync(_server, Request(1));
        var (second, secondResponse) = await InferAsync(_server, Request(1).Replace("id-1", "other-id", StringComparison.Ordinal));

        Assert.Equal("miss", first);
        Assert.Equal("hit-memory", second);
        Assert.Equal(firstResponse.Floats("output"), secondResponse.Floats("output"));
        Assert.Equal("other-id", secondResponse.Json.GetProperty("id").GetString());
        var stats = JsonDocument.Parse(await _server.Client.GetStringAsync("v2/models/mlp/stats")).RootElement.GetProperty("model_stats")[0].GetProperty("inference_stats");
        Assert.Equal(1, stats.GetProperty("cache_hit").GetProperty("count").GetInt64());
        Assert.Equal(1, stats.GetProperty("cache_miss").GetProperty("count").GetInt64());
        var metrics = await _server.Client.GetStringAsync("metrics");
        Assert.Matches("""sg_cache_lookups_total\{model="mlp",tier="memory",outcome="hit"\} 1""", metrics);
        Assert.Matches("""sg_cache_lookups_total\{model="mlp",tier="redis",outcome="miss"\} 1""", metrics);
    }

    [Fact]
    public async Task Infer_ByteIdenticalRepeats_SameResponseFromMemory()
    {
        var json = Request(7);
        var header = """{"id":"b","inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":256}}],"parameters":{"binary_data_output":true}}""";
        var values = Oip.Bytes([.. Enumerable.Range(0, 64).Select(i => (float)i)]);

        var bodies = new List<(string Cache, byte[] Body, string? HeaderLength)>();
        for (var i = 0; i < 3; i++)
        {
            using var first = await _server.Client.PostAsync("v2/models/mlp/infer", Oip.Json(json));
            bodies.Add((first.Headers.GetValues("X-Cache").Single(), await first.Content.ReadAsByteArrayAsync(), null));
            using var binary = await _server.Client.PostAsync("v2/models/mlp/infer", Oip.Binary(header, values));
            bodies.Add((binary.Headers.GetValues("X-Cache").Single(), await binary.Content.ReadAsByteArrayAsync(), binary.Headers.GetValues(Oip.HeaderLength).Single()));
            Assert.Equal("application/octet-stream", binary.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal(["miss", "miss", "hit-memory", "hit-memory", "hit-memory", "hit-memory"], bodies.Select(b => b.Cache));
        Assert.Equal(bodies[0].Body, bodies[2].Body);
        Assert.Equal(bodies[0].Body, bodies[4].Body);
        Assert.Equal(bodies[1].Body, bodies[3].Body);
        Assert.Equal(bodies[1].HeaderLength, bodies[5].HeaderLength);
        Assert.Equal(40, bodies[5].Body.Length - int.Parse(bodies[5].HeaderLength!, System.Globalization.CultureInfo.InvariantCulture));
        var stats = JsonDocument.Parse(await _server.Client.GetStringAsync("v2/models/mlp/stats")).RootElement.GetProperty("model_stats")[0].GetProperty("inference_stats");
        Assert.Equal(4, stats.GetProperty("cache_hit").GetProperty("count").GetInt64());
        Assert.Equal(2, stats.GetProperty("success").GetProperty("count").GetInt64() - 4);
    }

    [Fact]
    public async Task Infer_BinaryRequestAfterJson_SameKeyHits()
    {
        var values = Enumerable.Range(0, 64).Select(i => (float)(128 + i)).ToArray();
        await InferAsync(_server, Oip.JsonRequest("input", [1, 64], values));
        var header = """{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":256}}]}""";

        using var response = await _server.Client.PostAsync("v2/models/mlp/infer", Oip.Binary(header, Oip.Bytes(values)));

        Assert.Equal("hit-memory", response.Headers.GetValues("X-Cache").Single());
    }

    [Fact]
    public async Task Infer_ModelWithoutCache_Bypasses()
    {
        using var response = await _server.Client.PostAsync("v2/models/dynamic/infer", Oip.Json("""{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]}"""));

        Assert.Equal("bypass", response.Headers.GetValues("X-Cache").Single());
    }

    [Fact]
    public async Task TwoServers_ShareHitsThroughRedis()
    {
        await using var other = await StartAsync();
        await WaitUntilWritingToRedisAsync(_server.Client, other.Client);
        var stored = await RedisKeysAsync();

        var (first, computed) = await InferAsync(_server, Request(2));
        await WaitForRedisKeysAsync(stored + 1);
        var (second, shared) = await InferAsync(other, Request(2));

        Assert.Equal("miss", first);
        Assert.Equal("hit-redis", second);
        Assert.Equal(computed.Floats("output"), shared.Floats("output"));
    }

    [Fact]
    public async Task TwoServerProcesses_ShareHitsThroughRedis()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "ServingGateway.dll"), "--models", _models.Path, "--urls", $"http://127.0.0.1:{port}", "--redis", _redis.Endpoint, .. CacheArgs])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            await WaitReadyAsync(client, process);
            await WaitUntilWritingToRedisAsync(_server.Client, client);
            var stored = await RedisKeysAsync();
            var (first, _) = await InferAsync(_server, Request(500));
            await WaitForRedisKeysAsync(stored + 1);
            using var response = await client.PostAsync("v2/models/mlp/infer", Oip.Json(Request(500)));

            Assert.Equal("miss", first);
            Assert.Equal("hit-redis", response.Headers.GetValues("X-Cache").Single());
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task RedisKilledMidTraffic_NoRequestFailsAndHitsReturnWhenItIsBack()
    {
        using var stop = new CancellationTokenSource();
        var failures = new ConcurrentQueue<string>();
        var sent = 0;
        var traffic = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                // New requests (L1 misses, so Redis is asked and written) mixed with repeats (L1 hits).
                var seed = n % 2 == 0 ? 10_000 + (worker * 1_000_000) + n : 10_000 + (worker * 1_000_000);
                n++;
                using var response = await _server.Client.PostAsync("v2/models/mlp/infer", Oip.Json(Request(seed)));
                Interlocked.Increment(ref sent);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
        })).ToArray();

        // Each phase lasts until enough traffic has passed through it, however slow the machine.
        var cache = _server.Services<Inference.Caching.PredictionCache>();
        await Poll.UntilAsync(() => Volatile.Read(ref sent) >= 20, "traffic before the kill");
        _redis.Kill();
        await Poll.UntilAsync(() => cache.Redis!.Breaker.State != Inference.Common.CircuitState.Closed, "the circuit to open while Redis is down");
        var sentWhileDown = Volatile.Read(ref sent);
        await Poll.UntilAsync(() => Volatile.Read(ref sent) >= sentWhileDown + 20, "traffic while Redis is down");
        _redis.Start();
        await Poll.UntilAsync(() => cache.Redis!.Breaker.State == Inference.Common.CircuitState.Closed, "the circuit to close once Redis is back");
        var sentWhenBack = Volatile.Read(ref sent);
        await Poll.UntilAsync(() => Volatile.Read(ref sent) >= sentWhenBack + 20, "traffic once Redis is back");
        stop.Cancel();
        await Task.WhenAll(traffic);

        Assert.Empty(failures);
        Assert.Equal(Inference.Common.CircuitState.Closed, cache.Redis!.Breaker.State);

        // Back: what one node computes now, another node finds in Redis.
        await using var other = await StartAsync();
        await WaitUntilWritingToRedisAsync(_server.Client, other.Client);
        var stored = await RedisKeysAsync();
        await InferAsync(_server, Request(900_001));
        await WaitForRedisKeysAsync(stored + 1);
        var (shared, _) = await InferAsync(other, Request(900_001));

        Assert.Equal("hit-redis", shared);
    }

    private async Task<long> RedisKeysAsync()
    {
        await using var client = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(_redis.Endpoint);
        return await client.GetServer(_redis.Endpoint).DatabaseSizeAsync();
    }

    // Each server connects to Redis at start-up, and on a busy machine may still be connecting when the test
    // begins (a write while disconnected is dropped, as a cache may drop it): wait, bounded, until a write of
    // a request no test uses has landed from each.
    private async Task WaitUntilWritingToRedisAsync(params HttpClient[] clients)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (var client in clients)
        {
            while (true)
            {
                var stored = await RedisKeysAsync();
                using var response = await client.PostAsync("v2/models/mlp/infer", Oip.Json(Request(Interlocked.Increment(ref _probeSeed))));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var landedBy = DateTime.UtcNow.AddSeconds(1);
                while (await RedisKeysAsync() <= stored && DateTime.UtcNow < landedBy)
                {
                    await Task.Delay(10);
                }

                if (await RedisKeysAsync() > stored)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, "no write from the server reached Redis");
            }
        }
    }

    // Writes to Redis are fire and forget: wait, bounded, until they have landed.
    private async Task WaitForRedisKeysAsync(long atLeast)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await RedisKeysAsync() < atLeast)
        {
            Assert.True(DateTime.UtcNow < deadline, "the prediction never reached Redis");
            await Task.Delay(10);
        }
    }

    private static async Task WaitReadyAsync(HttpClient client, Process process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            Assert.False(process.HasExited, "the second server exited");
            try
            {
                using var ready = await client.GetAsync("v2/health/ready");
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, "the second server was not ready within 60 s");
            await Task.Delay(100);
        }
    }
}
