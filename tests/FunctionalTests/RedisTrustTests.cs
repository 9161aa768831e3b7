using System.Net;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Common;
using ServingGateway.RateLimiting;
using ServingGateway.TestSupport;
using StackExchange.Redis;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Redis is not trusted blindly, over real HTTP with a real redis-server: a tampered or forged cache entry
/// is a miss (and counted), the rate-limit breaker comes back to Redis after probes were cancelled while
/// Redis hung, and the Redis password never reaches a log line.
/// </summary>
[Collection(RunsAloneCollection.Name)]
public sealed class RedisTrustTests : IDisposable
{
    private const string Secret = "functional-test-secret-0123456789";
    private readonly TempModelRepository _models = new("mlp");

    public RedisTrustTests()
    {
        _models.WriteConfig("mlp", """{"max_batch_size": 64, "instances": 1, "cache": {"enable": true, "ttl_seconds": 300, "admission": "always"}}""");
    }

    public void Dispose() => _models.Dispose();

    private static string Request(int seed) =>
        Oip.JsonRequest("input", [1, 64], [.. Enumerable.Range(0, 64).Select(i => (float)((seed * 64) + i))]);

    private Task<GatewayServer> StartAsync(RedisServer redis, params string[] extra) =>
        GatewayServer.StartAsync(_models.Path, ["--redis", redis.Endpoint, "--Cache:RedisSecret", Secret, "--Cache:RedisReadBudgetMs", "500", .. extra]);

    private static async Task<(string Cache, float[] Output)> InferAsync(GatewayServer server, int seed)
    {
        using var response = await server.Client.PostAsync("v2/models/mlp/infer", Oip.Json(Request(seed)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (response.Headers.GetValues("X-Cache").Single(), (await Oip.ReadAsync(response)).Floats("output"));
    }

    private static async Task<double> MetricAsync(GatewayServer server, string name, string labels)
    {
        var text = await server.Client.GetStringAsync("metrics");
        var line = text.Split('\n').SingleOrDefault(l => l.StartsWith($"{name}{{{labels}}} ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    // Computes seed on the first server and waits, bounded, until its entry is in Redis; returns the entry's key.
    private static async Task<RedisKey> StoredEntryAsync(RedisServer redis, GatewayServer server, int seed)
    {
        await using var client = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            await InferAsync(server, seed++);
            var landedBy = DateTime.UtcNow.AddSeconds(2);
            while (DateTime.UtcNow < landedBy)
            {
                var keys = client.GetServer(redis.Endpoint).Keys(pattern: RedisCacheTier.KeyPrefix + "*").ToList();
                if (keys.Count > 0)
                {
                    return Assert.Single(keys);
                }

                await Task.Delay(10);
            }

            Assert.True(DateTime.UtcNow < deadline, "no entry of the server reached Redis (it may still be connecting)");
        }
    }

    // A first server stores seed 1's entry in Redis; replace turns the stored value into another; a second
    // server must then answer seed 1 as a miss with the outputs the first computed. Returns the second server.
    private async Task<GatewayServer> ReplacedEntryIsAMissAsync(RedisServer redis, Func<GatewayServer, RedisKey, byte[], byte[]> replace)
    {
        await using var first = await StartAsync(redis);
        var key = await StoredEntryAsync(redis, first, 1);
        var (_, computed) = await InferAsync(first, 1);
        await using (var client = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint))
        {
            var value = (byte[])(await client.GetDatabase().StringGetAsync(key))!;
            Assert.True(await client.GetDatabase().StringSetAsync(key, replace(first, key, value)));
        }

        var second = await StartAsync(redis);
        try
        {
            var (cache, served) = await InferAsync(second, 1);
            Assert.Equal("miss", cache);
            Assert.Equal(computed, served);
            return second;
        }
        catch
        {
            await second.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task TamperedEntry_IsAMissCountedInTheMetric_AndTheRightOutputIsServed()
    {
        using var redis = new RedisServer();
        await using var second = await ReplacedEntryIsAMissAsync(redis, (_, _, value) =>
        {
            value[^1] ^= 0x01; // the last byte of the output data
            return value;
        });

        Assert.Equal(1, await MetricAsync(second, "sg_cache_rejected_total", "reason=\"mac\""));
        Assert.Equal(1, await MetricAsync(second, "sg_cache_lookups_total", "model=\"mlp\",tier=\"redis\",outcome=\"miss\""));
    }

    [Fact]
    public async Task EntrySignedWithTheSecret_ButNotTheModelsOutputs_IsAMissCountedAsMismatch()
    {
        using var redis = new RedisServer();

        // Whoever holds the secret can sign, but an entry that is not this request's outputs is still refused.
        await using var second = await ReplacedEntryIsAMissAsync(redis, (first, key, _) =>
        {
            using var tensor = Inference.Tensors.PooledTensor.Rent("output", Inference.Tensors.TensorDataType.Fp32, [1, 9], 9, 36);
            return first.Services<PredictionCache>().Redis!.Seal(key!, CachedPrediction.From([tensor]).Serialize());
        });

        Assert.Equal(1, await MetricAsync(second, "sg_cache_rejected_total", "reason=\"mismatch\""));
        Assert.Equal(0, await MetricAsync(second, "sg_cache_rejected_total", "reason=\"mac\""));
    }

    [Fact]
    public async Task RateLimitBreaker_ProbesCancelledWhileRedisHangs_DecisionsReturnToRedisWhenItIsBack()
    {
        using var redis = new RedisServer();
        await using var server = await StartAsync(redis, "--RateLimits:Default:Rate", "100000", "--RateLimits:Default:Burst", "100000");
        var breaker = server.Services<RateLimitMiddleware.SharedBuckets>().Breaker;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await MetricAsync(server, "sg_rate_limit_decisions_total", "store=\"redis\"") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no decision was ever taken in Redis");
            await server.Client.GetAsync("v2/models/mlp");
        }

        redis.Pause();
        try
        {
            // Every decision now waits out its 250 ms budget: the circuit opens after three.
            while (breaker.State == CircuitState.Closed)
            {
                Assert.True(DateTime.UtcNow < deadline, "the circuit did not open while Redis hung");
                using var response = await server.Client.GetAsync("v2/models/mlp");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            // Callers that give up after 50 ms: each probe let through is cancelled mid-flight.
            using var impatient = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMilliseconds(50) };
            var probesCancelled = 0;
            var probing = DateTime.UtcNow.AddSeconds(5);
            while (DateTime.UtcNow < probing)
            {
                var before = breaker.State;
                try
                {
                    using var response = await impatient.GetAsync("v2/models/mlp");
                }
                catch (TaskCanceledException)
                {
                    probesCancelled += before == CircuitState.Open || before == CircuitState.HalfOpen ? 1 : 0;
                }
            }

            Assert.True(probesCancelled > 0, "no probe was cancelled mid-flight");
        }
        finally
        {
            redis.Resume();
        }

        // Back: within the probe interval (2 s) a probe reaches Redis and decisions are taken there again.
        var inRedis = await MetricAsync(server, "sg_rate_limit_decisions_total", "store=\"redis\"");
        var back = DateTime.UtcNow.AddSeconds(15);
        while (breaker.State != CircuitState.Closed || await MetricAsync(server, "sg_rate_limit_decisions_total", "store=\"redis\"") <= inRedis)
        {
            Assert.True(DateTime.UtcNow < back, $"decisions did not return to Redis; the circuit is {breaker.State}");
            using var response = await server.Client.GetAsync("v2/models/mlp");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task RedisPassword_NeverInAnyLogLine_OfAServerThatUsesItLosesItAndGetsItBack()
    {
        const string password = "Pa55-word-that-must-stay-secret";
        const string wrong = "Wrong-pa55-word-also-secret";
        using var redis = new RedisServer(password);
        var logging = new[] { "--Logging:LogLevel:Default", "Debug", "--Logging:LogLevel:Microsoft.AspNetCore", "Debug", "--Cache:RedisSecret", Secret, "--Cache:RedisReadBudgetMs", "500" };
        await using var right = await NodeProcess.StartAsync(["--models", _models.Path, "--redis", $"{redis.Endpoint},password={password}", "--RateLimits:Default:Rate", "1000", "--RateLimits:Default:Burst", "1000", .. logging]);
        await using var refused = await NodeProcess.StartAsync(["--models", _models.Path, "--redis", $"{redis.Endpoint},password={wrong}", "--RateLimits:Default:Rate", "1000", "--RateLimits:Default:Burst", "1000", .. logging]);

        // Traffic through both, Redis killed and back: every path that logs about Redis runs.
        foreach (var node in new[] { right, refused })
        {
            for (var i = 0; i < 10; i++)
            {
                using var response = await node.Client.PostAsync("v2/models/mlp/infer", Oip.Json(Request(i % 3)));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        redis.Kill();
        for (var i = 0; i < 20; i++)
        {
            using var response = await right.Client.PostAsync("v2/models/mlp/infer", Oip.Json(Request(100 + i)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await right.WaitForOutputAsync("is unavailable after", TimeSpan.FromSeconds(30));
        await refused.WaitForOutputAsync("is unavailable after", TimeSpan.FromSeconds(30));
        redis.Start();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!right.Output.Contains("answers again", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "the server never logged that Redis answers again:" + Environment.NewLine + right.Output);
            using var response = await right.Client.PostAsync("v2/models/mlp/infer", Oip.Json(Request(200)));
            await Task.Delay(100);
        }

        right.Kill();
        refused.Kill();
        var output = right.Output + refused.Output;
        Assert.Contains($"Redis cache {redis.Endpoint}", output, StringComparison.Ordinal); // the logs name host:port
        Assert.DoesNotContain(password, output, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, output, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, output, StringComparison.Ordinal);
        Assert.DoesNotContain("password=", output, StringComparison.OrdinalIgnoreCase);
    }
}
