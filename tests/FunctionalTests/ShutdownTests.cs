using System.Collections.Concurrent;
using System.Net;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>Graceful shutdown: a node stopped with SIGTERM behind an edge loses no request and exits 0.</summary>
[Collection(RunsAloneCollection.Name)]
public sealed class ShutdownTests
{
    private static readonly string MlpRequest = Oip.JsonRequest("input", [1, 64], new float[64]);

    [Fact]
    public async Task Sigterm_NodeUnderLoadBehindAnEdge_NoRequestFailsAndItExitsZero()
    {
        using var models = new TempModelRepository("mlp");
        await using var first = await NodeProcess.StartNodeAsync(models.Path, "node-1");
        await using var second = await NodeProcess.StartNodeAsync(models.Path, "node-2");
        var nodes = new Dictionary<string, NodeProcess> { ["node-1"] = first, ["node-2"] = second };
        await using var edge = await GatewayServer.StartAsync(RepoPaths.TestModels,
        [
            "--role", "edge", "--Auth:AllowAnonymous", "true",
            "--Edge:HealthCheckIntervalSeconds", "0.5", "--Edge:ReactivationSeconds", "2", "--Edge:PassiveWindowSeconds", "3",
            "--node", first.Url, "--node", second.Url,
        ]);

        // Steady, bounded load: four clients, one request at a time each, until told to stop.
        var servedBy = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await edge.Client.PostAsync("v2/models/mlp/infer", Oip.Json(MlpRequest));
                    var body = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Enqueue($"{(int)response.StatusCode} {body}");
                    }
                    else
                    {
                        servedBy.AddOrUpdate(response.Headers.GetValues("X-Served-By").Single(), 1, (_, n) => n + 1);
                    }
                }
                catch (HttpRequestException ex)
                {
                    failures.Enqueue(ex.Message);
                }
            }
        })).ToArray();

        // The model's owner on the ring takes the load; stop it once it has served some.
        await WaitUntilAsync(() => servedBy.Values.Sum() >= 100, "100 requests served before the signal");
        var ownerId = servedBy.OrderByDescending(p => p.Value).First().Key;
        var owner = nodes[ownerId];
        var other = nodes.Single(n => n.Key != ownerId);
        owner.Terminate();

        // Readiness turns 503 at once, while the node still serves what reaches it.
        using (var ready = await PollReadinessAsync(owner.Client))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        var exitCode = await owner.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var otherBefore = servedBy.GetValueOrDefault(other.Key);
        await WaitUntilAsync(() => servedBy.GetValueOrDefault(other.Key) >= otherBefore + 100, "100 requests served by the other node after the exit");
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        Assert.Equal(0, exitCode);
        Assert.True(failures.IsEmpty, $"{failures.Count} failed: {string.Join(" | ", failures.Take(5))}");
    }

    // The first readiness answer that is not 200: the signal reaches the process a moment after kill returns.
    private static async Task<HttpResponseMessage> PollReadinessAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            var response = await client.GetAsync("v2/health/ready");
            if (response.StatusCode != HttpStatusCode.OK || DateTime.UtcNow > deadline)
            {
                return response;
            }

            response.Dispose();
            await Task.Delay(10);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within 60 s: {what}");
            await Task.Delay(20);
        }
    }
}
