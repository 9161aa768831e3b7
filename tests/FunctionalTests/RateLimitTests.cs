using System.Diagnostics;
using System.Globalization;
using System.Net;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>API keys and token-bucket rate limits on the edge pipeline (standalone: no network hop).</summary>
public sealed class AuthAndRateLimitTests : IAsyncLifetime
{
    private const string InferKey = "infer-key-123";
    private const string DeployKey = "deploy-key-456";
    private static readonly string MlpRequest = Oip.JsonRequest("input", [1, 64], new float[64]);
    private static readonly string SlowRequest = Oip.JsonRequest("x", [1, 512], new float[512]);
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"sg-edge-{Guid.NewGuid():N}.json");
    private GatewayServer _server = null!;

    public async Task InitializeAsync()
    {
        await WriteConfigAsync(rate: 0.001, burst: 2);
        _server = await GatewayServer.StartAsync(RepoPaths.TestModels, "--config", _config, "--Auth:AllowAnonymous", "false");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_config);
    }

    // "fixed" refills one token in 1000 s, so no test depends on how fast the machine sends; "slow" refills
    // one a second, for the one test that waits what Retry-After says.
    private Task WriteConfigAsync(double rate, int burst, string inferKey = InferKey) => File.WriteAllTextAsync(_config, $$"""
        {
          "Auth": {
            "Keys": [
              {"Name": "infer", "Sha256": "{{Hash(inferKey)}}", "Roles": ["infer"]},
              {"Name": "deploy", "Sha256": "{{Hash(DeployKey)}}", "Roles": ["deploy", "infer"]}
            ]
          },
          "RateLimits": {
            "Default": {"Rate": 1000, "Burst": 1000},
            "Models": {"fixed": {"Rate": {{rate}}, "Burst": {{burst}} }, "slow": {"Rate": 1, "Burst": 1} }
          }
        }
        """);

    private static string Hash(string key) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)));

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? key, string header = "Bearer", HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null)
        {
            if (header == "Bearer")
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            }
            else
            {
                request.Headers.Add("X-Api-Key", key);
            }
        }

        return _server.Client.SendAsync(request);
    }

    private Task<HttpResponseMessage> InferFixedAsync(string key = InferKey) =>
        SendAsync(HttpMethod.Post, "v2/models/fixed/infer", key, content: Oip.Json("""{"inputs":[{"name":"a","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]},{"name":"b","shape":[2,3],"datatype":"FP32","data":[1,1,1,1,1,1]}]}"""));

    [Fact]
    public async Task NoKey_Is401WithJsonAndChallenge_PublicEndpointsOpen()
    {
        using var noKey = await SendAsync(HttpMethod.Post, "v2/models/mlp/infer", null, content: Oip.Json(MlpRequest));
        using var wrongKey = await SendAsync(HttpMethod.Post, "v2/models/mlp/infer", "nope", content: Oip.Json(MlpRequest));
        using var health = await SendAsync(HttpMethod.Get, "v2/health/ready", null);
        using var metrics = await SendAsync(HttpMethod.Get, "metrics", null);

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Contains("API key is required", await Oip.ReadErrorAsync(noKey), StringComparison.Ordinal);
        Assert.Equal("Bearer", noKey.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
        Assert.Contains("unknown API key", await Oip.ReadErrorAsync(wrongKey), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
    }

    [Fact]
    public async Task KeyInEitherHeader_Works_RoleIsChecked()
    {
        using var bearer = await SendAsync(HttpMethod.Post, "v2/models/mlp/infer", InferKey, content: Oip.Json(MlpRequest));
        using var header = await SendAsync(HttpMethod.Post, "v2/models/mlp/infer", InferKey, "X-Api-Key", Oip.Json(MlpRequest));
        using var forbidden = await SendAsync(HttpMethod.Post, "v2/repository/index", InferKey);
        using var allowed = await SendAsync(HttpMethod.Post, "v2/repository/index", DeployKey, "X-Api-Key");

        Assert.Equal(HttpStatusCode.OK, bearer.StatusCode);
        Assert.Equal(HttpStatusCode.OK, header.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Contains("lacks the deploy role", await Oip.ReadErrorAsync(forbidden), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task OverTheLimit_Is429WithJsonHeadersAndRetryAfter()
    {
        using var first = await InferFixedAsync();
        using var second = await InferFixedAsync();
        using var refused = await InferFixedAsync();

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("2", first.Headers.GetValues("RateLimit-Limit").Single());
        Assert.Equal("1", first.Headers.GetValues("RateLimit-Remaining").Single());
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Contains("rate limit exceeded", await Oip.ReadErrorAsync(refused), StringComparison.Ordinal);
        Assert.Equal("0", refused.Headers.GetValues("RateLimit-Remaining").Single());
        // A token every 1000 s (a slow machine lets a few thousandths refill meanwhile): the bucket is full
        // again in about 2000 s, and the next token comes in about 1000 s.
        Assert.InRange(int.Parse(refused.Headers.GetValues("RateLimit-Reset").Single(), CultureInfo.InvariantCulture), 1990, 2000);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 990, 1000);

        var metrics = await _server.Client.GetStringAsync("metrics");
        Assert.Matches("sg_rate_limited_total\\{limit=\"fixed\"\\} 1\\b", metrics);
        Assert.DoesNotContain("infer-key", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refused_WaitingRetryAfterLetsTheRetryThrough()
    {
        // A functional test against real time: drain the bucket (one token a second) however long the
        // requests take, then wait what the server said, counted from its answer, and the retry must pass.
        HttpResponseMessage refused;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            refused = await SendAsync(HttpMethod.Post, "v2/models/slow/infer", InferKey, content: Oip.Json(SlowRequest));
            if (refused.StatusCode == HttpStatusCode.TooManyRequests)
            {
                break;
            }

            Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
            refused.Dispose();
            Assert.True(clock.Elapsed < Poll.DefaultDeadline, "the bucket never ran dry");
        }

        var answeredAt = Stopwatch.GetTimestamp();
        var retryAfter = refused.Headers.RetryAfter?.Delta ?? TimeSpan.Zero;
        refused.Dispose();
        Assert.Equal(TimeSpan.FromSeconds(1), retryAfter);
        var left = retryAfter - Stopwatch.GetElapsedTime(answeredAt);
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left);
        }

        using var retried = await SendAsync(HttpMethod.Post, "v2/models/slow/infer", InferKey, content: Oip.Json(SlowRequest));
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
    }

    [Fact]
    public async Task ConfigFileChanges_KeysReloadWithoutRestart()
    {
        const string NewKey = "new-infer-key-789";
        using (var before = await InferFixedAsync(NewKey))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, before.StatusCode);
        }

        await WriteConfigAsync(rate: 0.001, burst: 2, inferKey: NewKey);

        // The file is read again within moments; until then the new key is unknown.
        await Poll.UntilAsync(
            async () =>
            {
                using var response = await SendAsync(HttpMethod.Get, "v2/models/mlp", NewKey);
                return response.StatusCode == HttpStatusCode.OK;
            },
            "the new key to be accepted after the file changed");
        using var replaced = await SendAsync(HttpMethod.Get, "v2/models/mlp", InferKey);
        using var kept = await SendAsync(HttpMethod.Get, "v2/models/mlp", DeployKey);

        Assert.Equal(HttpStatusCode.Unauthorized, replaced.StatusCode);
        Assert.Contains("unknown API key", await Oip.ReadErrorAsync(replaced), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
    }

    [Fact]
    public async Task ConfigFileChanges_LimitsReloadWithoutRestart()
    {
        await WriteConfigAsync(rate: 0.001, burst: 1);

        // The old limit (burst 2) answers until the file is read again; the new one says RateLimit-Limit 1.
        await Poll.UntilAsync(
            async () =>
            {
                using var response = await InferFixedAsync(DeployKey);
                return response.Headers.GetValues("RateLimit-Limit").Single() == "1";
            },
            "RateLimit-Limit 1 after the file changed");
        using var refused = await InferFixedAsync(DeployKey);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter!.Delta >= TimeSpan.FromSeconds(999), "a token every 1000 s");
    }
}

/// <summary>What anonymous callers may do: Auth:AnonymousRoles.</summary>
public sealed class AnonymousRolesTests
{
    [Fact]
    public async Task AnonymousRolesInferOnly_InferServed_RepositoryForbidden()
    {
        await using var server = await GatewayServer.StartAsync(RepoPaths.TestModels, "--Auth:AllowAnonymous", "true", "--Auth:AnonymousRoles:0", "infer");

        using var infer = await server.Client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], new float[64])));
        using var index = await server.Client.PostAsync("v2/repository/index", null);

        Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, index.StatusCode);
        Assert.Contains("anonymous callers lack the deploy role", await Oip.ReadErrorAsync(index), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnonymousRolesInferAndDeploy_RepositoryServed()
    {
        await using var server = await GatewayServer.StartAsync(
            RepoPaths.TestModels, "--Auth:AllowAnonymous", "true", "--Auth:AnonymousRoles:0", "infer", "--Auth:AnonymousRoles:1", "deploy");

        using var index = await server.Client.PostAsync("v2/repository/index", null);

        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
    }
}

/// <summary>Rate limits in Redis fall back to local buckets while Redis is away, and go back to Redis after.</summary>
public sealed class RateLimitFallbackTests : IAsyncLifetime
{
    private readonly RedisServer _redis = new();
    private GatewayServer _server = null!;

    public async Task InitializeAsync() => _server = await GatewayServer.StartAsync(
        RepoPaths.TestModels,
        "--redis", _redis.Endpoint, "--Auth:AllowAnonymous", "true",
        "--RateLimits:Default:Rate", "1000", "--RateLimits:Default:Burst", "1000",
        "--RateLimits:Models:mlp:Rate", "0.001", "--RateLimits:Models:mlp:Burst", "3");

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _redis.Dispose();
    }

    private Task<long> DecisionsAsync(string store) => DecisionsAsync(_server.Client, store);

    /// <summary>sg_rate_limit_decisions_total of <paramref name="store"/> (redis, local) on the server behind <paramref name="client"/>; 0 before any.</summary>
    internal static async Task<long> DecisionsAsync(HttpClient client, string store)
    {
        var metrics = await client.GetStringAsync("metrics");
        var match = System.Text.RegularExpressions.Regex.Match(metrics, $"sg_rate_limit_decisions_total\\{{store=\"{store}\"\\}} (\\d+)");
        return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    // A request under the default limit (1000 a second): it must pass, whichever store decides.
    private async Task<bool> DecidedInAsync(string store)
    {
        var before = await DecisionsAsync(store);
        using var response = await _server.Client.GetAsync("v2/models/fixed");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await DecisionsAsync(store) > before;
    }

    private async Task<HttpStatusCode[]> MlpStatusesAsync(int count)
    {
        var statuses = new HttpStatusCode[count];
        for (var i = 0; i < count; i++)
        {
            using var response = await _server.Client.GetAsync("v2/models/mlp");
            statuses[i] = response.StatusCode;
        }

        return statuses;
    }

    [Fact]
    public async Task RedisDownThenBack_LocalBucketsDecideMeanwhile_ThenRedisAgain()
    {
        await Poll.UntilAsync(() => DecidedInAsync("redis"), "a decision in Redis (the edge connects in the background)");
        var inRedis = await MlpStatusesAsync(4);

        _redis.Kill();
        await Poll.UntilAsync(() => DecidedInAsync("local"), "a decision in the local buckets once Redis is down");
        var local = await MlpStatusesAsync(4);
        var localDecisions = await DecisionsAsync("local");

        _redis.Start();
        await Poll.UntilAsync(() => DecidedInAsync("redis"), "decisions in Redis again once it is back");
        var localAfterBack = await DecisionsAsync("local");
        var backInRedis = await MlpStatusesAsync(4);

        // The same limit (3 at once, a token every 1000 s) in each store: Redis's bucket, then a local one,
        // then a new one in the restarted Redis.
        HttpStatusCode[] three = [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests];
        Assert.Equal(three, inRedis);
        Assert.Equal(three, local);
        Assert.Equal(three, backInRedis);
        Assert.True(localDecisions >= 4, $"{localDecisions} local decisions while Redis was down");
        Assert.Equal(localAfterBack, await DecisionsAsync("local")); // once back, nothing more is decided locally
    }
}

/// <summary>Two edges sharing Redis enforce one limit between them.</summary>
[Collection(RunsAloneCollection.Name)]
public sealed class SharedRateLimitTests : IAsyncLifetime
{
    private const double Rate = 40;
    private const int Burst = 20;
    private readonly RedisServer _redis = new();
    private readonly TempModelRepository _models = new("mlp");
    private NodeProcess _node = null!;

    public async Task InitializeAsync() => _node = await NodeProcess.StartNodeAsync(_models.Path, "node-1");

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        _models.Dispose();
        _redis.Dispose();
    }

    // The Redis decision budget is 2 s here, not 250 ms: this test is about one limit shared through Redis, and
    // two CI runs of 2026-11-30 saw one decision in about 4700 pass 250 ms on the busy two cores and be decided
    // locally. The budget's own fallback is RateLimitFallbackTests'.
    private Task<GatewayServer> StartEdgeAsync() =>
        GatewayServer.StartAsync(_models.Path,
            "--role", "edge", "--node", _node.Url, "--redis", _redis.Endpoint, "--Auth:AllowAnonymous", "true",
            "--RateLimits:RedisDecisionBudgetMs", "2000",
            "--RateLimits:Default:Rate", Rate.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--RateLimits:Default:Burst", Burst.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task TwoEdges_EnforceOneCombinedLimitWithinTenPercent()
    {
        await using var first = await StartEdgeAsync();
        await using var second = await StartEdgeAsync();
        var body = Oip.JsonRequest("input", [1, 64], new float[64]);

        // Warm both edges (JIT, connections to the node and Redis): a slow start would leave tokens unused,
        // and a full bucket wastes what it refills. Then let the bucket fill again: Burst tokens at the start.
        foreach (var edge in new[] { first, second })
        {
            for (var i = 0; i < 3; i++)
            {
                using var warm = await edge.Client.PostAsync("v2/models/mlp/infer", Oip.Json(body));
            }
        }

        await Task.Delay(TimeSpan.FromSeconds((Burst / Rate) + 0.5));

        // The warm-up may have been decided locally while an edge's connection to Redis came up (a CI run saw one
        // such decision); what counts is the measured load below.
        var localBefore = new[] { await RateLimitFallbackTests.DecisionsAsync(first.Client, "local"), await RateLimitFallbackTests.DecisionsAsync(second.Client, "local") };
        var redisBefore = new[] { await RateLimitFallbackTests.DecisionsAsync(first.Client, "redis"), await RateLimitFallbackTests.DecisionsAsync(second.Client, "redis") };
        var allowed = 0;
        var refused = 0;
        var clock = Stopwatch.StartNew();
        var duration = TimeSpan.FromSeconds(3);
        await Task.WhenAll(new[] { first, second }.SelectMany(edge => Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < duration)
            {
                using var response = await edge.Client.PostAsync("v2/models/mlp/infer", Oip.Json(body));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref allowed);
                }
                else
                {
                    Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
                    Interlocked.Increment(ref refused);
                }
            }
        }))));
        var elapsed = clock.Elapsed.TotalSeconds;

        // Every decision of the load was taken in Redis: a fallback to local buckets would enforce a limit per edge.
        var edges = new[] { first, second };
        for (var i = 0; i < edges.Length; i++)
        {
            var local = await RateLimitFallbackTests.DecisionsAsync(edges[i].Client, "local");
            var redis = await RateLimitFallbackTests.DecisionsAsync(edges[i].Client, "redis");
            Assert.True(redis > redisBefore[i], $"edge {i + 1}: no decision taken in Redis during the load ({redis} before and after)");
            Assert.True(local == localBefore[i], $"edge {i + 1}: {local - localBefore[i]} decision(s) taken locally during the load ({redis - redisBefore[i]} in Redis)");
        }

        // One anonymous caller (one address) through both edges: one bucket in Redis.
        var expected = Burst + (Rate * elapsed);
        Assert.True(refused > 0, "the load should pass the limit");
        Assert.InRange(allowed, expected * 0.9, expected * 1.1);
    }
}
