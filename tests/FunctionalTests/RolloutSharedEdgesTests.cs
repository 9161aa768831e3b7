using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Two edges sharing Redis in front of two nodes (issue 13, item 4): one drives the rollout (the lease), an admin call
/// to the other is forwarded to it, both route by the same split within a second, and when the driving edge is killed
/// (no release: its lease has to expire) the other takes the rollout over and finishes it. Edge a is a process of its
/// own, so that it can be killed.
/// </summary>
public sealed class RolloutSharedEdgesTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const double LeaseSeconds = 2;
    private readonly RedisServer _redis = new();
    private readonly TempModelRepository _models = new("mlp");
    private NodeProcess[] _nodes = [];
    private NodeProcess _a = null!;
    private GatewayServer _b = null!;

    public async Task InitializeAsync()
    {
        _models.AddVersion("mlp", 2, "mlp", 1);
        _models.WriteConfig("mlp", """{"max_batch_size": 64, "instances": 1, "version_policy": {"specific": {"versions": [1]}}}""");
        _nodes = await Task.WhenAll(Enumerable.Range(1, 2).Select(i => NodeProcess.StartNodeAsync(_models.Path, $"shared-node-{i}")));
        string[] edge =
        [
            "--role", "edge", "--redis", _redis.Endpoint, "--Edge:HealthCheckIntervalSeconds", "0.5",
            "--Deployments:TickMilliseconds", "100", "--Deployments:FollowMilliseconds", "100",
            "--Deployments:LeaseSeconds", LeaseSeconds.ToString(CultureInfo.InvariantCulture),
            .. RolloutEdgeTests.Keys(),
            .. _nodes.SelectMany(n => new[] { "--node", n.Url }),
        ];
        _a = await NodeProcess.StartAsync(edge);

        // a started first and takes the lease once it listens; b starts when it holds it, and follows.
        using (var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Endpoint))
        {
            await Poll.UntilAsync(() => ((string?)redis.GetDatabase().StringGet("sg:deployments:lease"))?.EndsWith(" " + _a.Url, StringComparison.Ordinal) == true, "edge a to hold the lease");
        }

        _b = await GatewayServer.StartAsync(RepoPaths.TestModels, edge);
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        _models.Dispose();
        _redis.Dispose();
    }

    // sg_traffic_split_percent{model="mlp",version} on an edge now; null when that version is not in its split.
    private static async Task<double?> SplitAsync(HttpClient edge, string version)
    {
        var prefix = $"sg_traffic_split_percent{{model=\"mlp\",version=\"{version}\"}} ";
        var line = (await edge.GetStringAsync("metrics")).Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? null : double.Parse(line[prefix.Length..], CultureInfo.InvariantCulture);
    }

    private static async Task<JsonElement> CurrentAsync(HttpClient edge)
    {
        using var response = await RolloutEdgeTests.SendAsync(edge, HttpMethod.Get, "admin/models/mlp/rollouts/current");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    [Fact]
    public async Task Canary_StartedOnTheFollower_BothEdgesSplitWithinASecond_DriverKilled_OtherTakesOverAndPromotes()
    {
        // Light load through each edge: the driver judges the answers that pass through it.
        var throughA = new SteadyLoad([_a.Client], "v2/models/mlp/infer", Oip.JsonRequest("input", [1, 64], new float[64]), RolloutEdgeTests.InferKey, loops: 1);
        var throughB = new SteadyLoad([_b.Client], "v2/models/mlp/infer", Oip.JsonRequest("input", [1, 64], new float[64]), RolloutEdgeTests.InferKey, loops: 1);
        await using (throughB)
        {
            // Started through b, which does not drive: forwarded to a.
            using (var started = await RolloutEdgeTests.SendAsync(_b.Client, HttpMethod.Post, "admin/models/mlp/rollouts", """
                {"version": 2, "strategy": "canary", "steps": [50, 100], "step_seconds": 4,
                 "analysis": {"max_error_rate": 0, "max_p99_ratio": 20, "min_requests": 3}}
                """))
            {
                Assert.True(started.StatusCode == HttpStatusCode.Accepted, $"{(int)started.StatusCode} {await started.Content.ReadAsStringAsync()}");
            }

            // The first step's split, as each edge routes by it: b applies it within a second of a.
            var clock = Stopwatch.StartNew();
            TimeSpan? onA = null, onB = null;
            while ((onA is null || onB is null) && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                onA ??= await SplitAsync(_a.Client, "2") == 50 ? clock.Elapsed : null;
                onB ??= await SplitAsync(_b.Client, "2") == 50 ? clock.Elapsed : null;
                await Task.Delay(20);
            }

            Assert.True(onA is not null && onB is not null, $"the 50% step never reached both edges (a: {onA}, b: {onB})");
            output.WriteLine($"the 50% split: on a at {onA.Value.TotalMilliseconds:0} ms, on b at {onB.Value.TotalMilliseconds:0} ms");
            Assert.True(onB - onA < TimeSpan.FromSeconds(1), $"b applied the split {(onB - onA)!.Value.TotalMilliseconds} ms after a");

            // a dies without letting the lease go: b takes the rollout over once the lease expires, and resumes it.
            var analyzing = await CurrentAsync(_b.Client); // forwarded to a
            Assert.Equal("analyzing", analyzing.GetProperty("state").GetString());
            await throughA.DisposeAsync();
            _a.Kill();
            var killed = Stopwatch.StartNew();
            JsonElement resumed;
            while (true)
            {
                using var response = await RolloutEdgeTests.SendAsync(_b.Client, HttpMethod.Get, "admin/models/mlp/rollouts/current");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    resumed = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                    if (resumed.GetProperty("decisions").EnumerateArray().Any(d => d.GetProperty("action").GetString() == "resume_after_restart"))
                    {
                        break;
                    }
                }

                Assert.True(killed.Elapsed < TimeSpan.FromSeconds(30), "b never took the rollout over");
                await Task.Delay(50);
            }

            var handover = killed.Elapsed;
            output.WriteLine($"b resumed the rollout {handover.TotalMilliseconds:0} ms after a was killed (lease {LeaseSeconds} s)");
            Assert.True(handover < TimeSpan.FromSeconds(LeaseSeconds + 2), $"b took over {handover.TotalSeconds:0.0} s after a was killed (lease {LeaseSeconds} s)");

            var deadline = DateTime.UtcNow.AddSeconds(90);
            JsonElement finished;
            while ((finished = await CurrentAsync(_b.Client)).GetProperty("state").GetString() is not ("promoted" or "rolled_back" or "failed"))
            {
                Assert.True(DateTime.UtcNow < deadline, $"the rollout never finished on b: {finished}");
                await Task.Delay(100);
            }

            Assert.True(finished.GetProperty("state").GetString() == "promoted", finished.ToString());
            Assert.Equal(100, await SplitAsync(_b.Client, "2"));
        }

        Assert.Empty(throughB.Failures);
        Assert.True(throughB.Versions.GetValueOrDefault("2") > 0, string.Join(", ", throughB.Versions));
        foreach (var node in _nodes)
        {
            await Poll.UntilAsync(async () => (await RolloutEdgeTests.ReadyAsync(node.Client, "mlp")).SequenceEqual(["2"]), $"{node.Url} to serve only version 2");
        }
    }
}
