using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.Routing;
using ServingGateway.TestSupport;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace ServingGateway.FunctionalTests;

/// <summary>Three node processes on loopback, shared by the edge tests.</summary>
public sealed class ThreeNodes : IAsyncLifetime
{
    private readonly TempModelRepository _models = new("mlp", "slow");

    internal NodeProcess[] Nodes { get; private set; } = [];

    public async Task InitializeAsync()
    {
        _models.WriteConfig("slow", """{"max_batch_size": 1, "instances": 1, "max_queue_rows": 256}""");
        Nodes = await Task.WhenAll(Enumerable.Range(1, 3).Select(i => NodeProcess.StartNodeAsync(_models.Path, $"node-{i}")));
    }

    public async Task DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        _models.Dispose();
    }
}

/// <summary>An edge in front of three nodes: consistent hashing with bounded load, failover, discovery.</summary>
public sealed class EdgeTests(ThreeNodes fixture) : IClassFixture<ThreeNodes>
{
    private static readonly string MlpRequest = Oip.JsonRequest("input", [1, 64], new float[64]);
    private static readonly string SlowRequest = Oip.JsonRequest("x", [1, 512], new float[512]);

    private Task<GatewayServer> StartEdgeAsync(params string[] extra) =>
        GatewayServer.StartAsync(RepoPaths.TestModels,
        [
            "--role", "edge", "--Auth:AllowAnonymous", "true",
            "--Edge:HealthCheckIntervalSeconds", "0.5", "--Edge:ReactivationSeconds", "2", "--Edge:PassiveWindowSeconds", "3",
            .. extra.Length > 0 ? extra : fixture.Nodes.SelectMany(n => new[] { "--node", n.Url }),
        ]);

    private static async Task<string> ServedByAsync(HttpClient client, string model, string body, string? routingKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v2/models/{model}/infer") { Content = Oip.Json(body) };
        if (routingKey is not null)
        {
            request.Headers.Add("X-Routing-Key", routingKey);
        }

        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.GetValues("X-Served-By").Single();
    }

    [Fact]
    public async Task Infer_UnderTheBound_OneModelStaysOnOneNode()
    {
        await using var edge = await StartEdgeAsync();

        var servedBy = new HashSet<string>();
        for (var i = 0; i < 30; i++)
        {
            servedBy.Add(await ServedByAsync(edge.Client, "mlp", MlpRequest));
        }

        Assert.Single(servedBy);
    }

    [Fact]
    public async Task Infer_LoadPastTheBound_SpreadsToOtherNodes()
    {
        await using var edge = await StartEdgeAsync();
        var owner = await ServedByAsync(edge.Client, "slow", SlowRequest);

        // 12 clients at once on a 10 ms model with one instance per node: the owner's in-flight requests
        // pass ceil(1.25 x (in flight + 1) / 3), and the next nodes on the ring take the rest.
        // The load runs until a second node has served some (or the deadline fails the test), not for a fixed time.
        var counts = new ConcurrentDictionary<string, int>();
        using var stop = new CancellationTokenSource();
        var load = Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                counts.AddOrUpdate(await ServedByAsync(edge.Client, "slow", SlowRequest), 1, (_, n) => n + 1);
            }
        })));
        try
        {
            await Poll.UntilAsync(() => load.IsCompleted || counts.Count >= 2, $"a second node to take load from {owner}");
        }
        finally
        {
            stop.Cancel();
            await load;
        }

        // Each node then runs flat out (one instance each), so the shares even out; what matters is the spread.
        Assert.True(counts.Count >= 2, $"served by {string.Join(", ", counts)}");
        Assert.Contains(owner, counts.Keys);
    }

    [Fact]
    public async Task NodeKilledUnderLoad_FewFailuresThenNoneAndItRejoinsWhenBack()
    {
        await using var edge = await StartEdgeAsync();
        var victim = fixture.Nodes[1];
        var failures = new ConcurrentQueue<(TimeSpan At, string What)>();
        var servedBy = new ConcurrentQueue<(TimeSpan At, string Node)>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var traffic = Enumerable.Range(0, 6).Select(worker => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                // Many routing keys, so every node has traffic.
                using var request = new HttpRequestMessage(HttpMethod.Post, "v2/models/mlp/infer") { Content = Oip.Json(MlpRequest) };
                request.Headers.Add("X-Routing-Key", $"{worker}-{n % 16}");
                try
                {
                    using var response = await edge.Client.SendAsync(request);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        servedBy.Enqueue((clock.Elapsed, response.Headers.GetValues("X-Served-By").Single()));
                    }
                    else
                    {
                        failures.Enqueue((clock.Elapsed, $"{(int)response.StatusCode}"));
                    }
                }
                catch (HttpRequestException ex)
                {
                    failures.Enqueue((clock.Elapsed, ex.Message));
                }
            }
        })).ToArray();

        try
        {
            // Each phase waits on what the edge and the traffic show, never on a fixed time.
            await Poll.UntilAsync(() => servedBy.Any(s => s.Node == "node-2"), "traffic served by node-2 before the kill");
            Assert.True(IsHealthy(edge, victim), "node-2 is in the edge's cluster and healthy before the kill");
            var killedAt = clock.Elapsed;
            victim.Kill();
            await Poll.UntilAsync(() => !IsHealthy(edge, victim), "the edge to take the killed node out");
            var tripped = clock.Elapsed;
            await Poll.UntilAsync(() => servedBy.Count(s => s.At > tripped) >= 200, "200 requests served after the node was taken out");
            var calm = clock.Elapsed;
            await victim.RestartAsync();
            var restarted = clock.Elapsed;
            await Poll.UntilAsync(() => servedBy.Any(s => s.Node == "node-2" && s.At > restarted), "node-2 to serve again once restarted");

            // Only requests in flight on the node when it died can fail (6 clients): connection failures
            // are retried on the next node, and the health checks take the node out.
            var during = failures.Count(f => f.At >= killedAt && f.At < tripped);
            Assert.True(during <= 6, $"{during} failures after the kill: {string.Join("; ", failures.Select(f => f.What).Distinct())}");
            Assert.DoesNotContain(failures, f => f.At >= tripped && f.At < calm);
        }
        finally
        {
            stop.Cancel();
            await Task.WhenAll(traffic);
            if (!(await victim.Client.GetAsync("v2/health/ready").ContinueWith(t => t.IsCompletedSuccessfully && t.Result.IsSuccessStatusCode)))
            {
                await victim.RestartAsync();
            }
        }
    }

    // What the edge's health checks (active or passive) say of the node now.
    private static bool IsHealthy(GatewayServer edge, NodeProcess node) =>
        edge.Services<IProxyStateLookup>().TryGetCluster(NodeDiscovery.ClusterId, out var cluster)
        && cluster.Destinations.Values.Any(d => d.Model.Config.Address == node.Url
            && d.Health.Active != DestinationHealth.Unhealthy && d.Health.Passive != DestinationHealth.Unhealthy);

    [Fact]
    public async Task DeadNodeInTheList_ConnectFailuresAreRetriedOnTheNextNode()
    {
        var dead = $"http://127.0.0.1:{NodeProcess.FreePort()}";
        await using var edge = await StartEdgeAsync(["--node", dead, .. fixture.Nodes.SelectMany(n => new[] { "--node", n.Url })]);

        // Before the health checks have marked it, the dead node owns some of these keys: all must succeed.
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => ServedByAsync(edge.Client, "mlp", MlpRequest, $"key-{i}")));

        Assert.All(results, r => Assert.StartsWith("node-", r, StringComparison.Ordinal));
        var metrics = await edge.Client.GetStringAsync("metrics");
        Assert.Matches("sg_edge_forwarded_total\\{node=\"http://127.0.0.1:\\d+\",outcome=\"success\"\\} [1-9]", metrics);
    }

    [Fact]
    public async Task NodeAnswers503WithRetryAfter_TheRequestsAfterItSpillToTheNextNode()
    {
        await using var overloaded = await OverloadedNode.StartAsync(retryAfterSeconds: 60);
        await using var edge = await StartEdgeAsync(["--node", overloaded.Url, "--node", fixture.Nodes[0].Url]);

        // One after another, 40 keys, about half of them owned by the overloaded node: the first of those is
        // refused (the edge cannot know before it answers), and marks it saturated; every later one spills.
        var answers = new List<(HttpStatusCode Status, string ServedBy, string? RetryAfter)>();
        for (var i = 0; i < 40; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v2/models/mlp/infer") { Content = Oip.Json(MlpRequest) };
            request.Headers.Add("X-Routing-Key", $"key-{i}");
            using var response = await edge.Client.SendAsync(request);
            answers.Add((response.StatusCode, response.Headers.GetValues("X-Served-By").Single(), response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString()));
        }

        var refused = Assert.Single(answers, a => a.Status != HttpStatusCode.OK);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "overloaded", "60"), refused);
        Assert.Equal(1, overloaded.Refused);
        Assert.All(answers.Where(a => a.Status == HttpStatusCode.OK), a => Assert.Equal("node-1", a.ServedBy));
        var metrics = await edge.Client.GetStringAsync("metrics");
        Assert.Contains($"sg_edge_node_saturated_total{{node=\"{overloaded.Url}\"}} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NodesFromDns_LocalhostResolvesToTheNode()
    {
        var node = fixture.Nodes[0];
        await using var edge = await StartEdgeAsync("--nodes-dns", $"localhost:{node.Port}");

        Assert.Equal("node-1", await ServedByAsync(edge.Client, "mlp", MlpRequest));
    }

    [Fact]
    public async Task BodyOverTheEdgeLimit_Is413Json_WithOrWithoutContentLength()
    {
        await using var edge = await StartEdgeAsync(["--Edge:MaxRequestBodyBytes", "4096", .. fixture.Nodes.SelectMany(n => new[] { "--node", n.Url })]);
        using var declared = new HttpRequestMessage(HttpMethod.Post, "v2/models/mlp/infer") { Content = new ByteArrayContent(new byte[8192]) };
        declared.Headers.ExpectContinue = true;
        var chunkedContent = new StreamContent(new MemoryStream(new byte[6000]));
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "v2/models/mlp/infer") { Content = chunkedContent };
        chunked.Headers.TransferEncodingChunked = true;

        using var declaredResponse = await edge.Client.SendAsync(declared);
        using var chunkedResponse = await edge.Client.SendAsync(chunked);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declaredResponse.StatusCode);
        await Oip.ReadErrorAsync(declaredResponse);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunkedResponse.StatusCode);
        await Oip.ReadErrorAsync(chunkedResponse);
    }

    [Fact]
    public async Task EdgeHealthAndErrors_AnsweredByTheEdgeAsJson()
    {
        await using var edge = await StartEdgeAsync();

        using var live = await edge.Client.GetAsync("v2/health/live");
        using var unknown = await edge.Client.PostAsync("v2/models/nope/infer", Oip.Json("{}"));
        using var bad = await edge.Client.PostAsync("v2/models/mlp/infer", Oip.Json("{"));

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("unknown model 'nope'", await Oip.ReadErrorAsync(unknown), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("malformed JSON", await Oip.ReadErrorAsync(bad), StringComparison.Ordinal);
    }
}
