using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>Triton's repository extension over HTTP: index, load and unload, also while traffic flows.</summary>
public sealed class RepositoryTests : IAsyncLifetime
{
    private const string Request = """{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[10,10,10,10]}]}""";
    private readonly TempModelRepository _models = new("versioned", "mlp", "broken");
    private GatewayServer _server = null!;

    private HttpClient Client => _server.Client;

    public async Task InitializeAsync() => _server = await GatewayServer.StartAsync(_models.Path);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _models.Dispose();
    }

    private async Task<JsonElement[]> PostIndexAsync(string path)
    {
        using var response = await Client.PostAsync(path, null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return [.. JsonDocument.Parse(body).RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    [Fact]
    public async Task UnloadThenLoad_ModelGoesAwayAndComesBack()
    {
        var unloaded = await PostIndexAsync("v2/repository/models/mlp/unload");
        using var afterUnload = await Client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], new float[64])));
        var loaded = await PostIndexAsync("v2/repository/models/mlp/load");
        using var afterLoad = await Client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], new float[64])));

        Assert.Equal("UNAVAILABLE", Assert.Single(unloaded).GetProperty("state").GetString());
        Assert.Equal("unloaded", unloaded[0].GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.NotFound, afterUnload.StatusCode);
        Assert.Contains("unloaded", await Oip.ReadErrorAsync(afterUnload), StringComparison.Ordinal);
        Assert.Equal("READY", Assert.Single(loaded).GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.OK, afterLoad.StatusCode);
    }

    [Fact]
    public async Task Load_BrokenModel_Is400WithReasonAndOthersKeepServing()
    {
        using var response = await Client.PostAsync("v2/repository/models/broken/load", null);
        using var mlp = await Client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], new float[64])));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("failed to load 'broken'", await Oip.ReadErrorAsync(response), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, mlp.StatusCode);
    }

    [Fact]
    public async Task Load_ConfigOverrideParameter_Is400()
    {
        using var response = await Client.PostAsync("v2/repository/models/mlp/load", Oip.Json("""{"parameters":{"config":"{}"}}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not supported", await Oip.ReadErrorAsync(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadNewVersionAndNarrowPolicy_UnderTraffic_FailNoRequest()
    {
        using var stop = new CancellationTokenSource();
        var failures = new ConcurrentQueue<string>();
        var versionsSeen = new ConcurrentDictionary<string, int>();
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var count = 0;
            while (!stop.IsCancellationRequested || count == 0)
            {
                using var response = await Client.PostAsync("v2/models/versioned/infer", Oip.Json(Request));
                count++;
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    continue;
                }

                var version = response.Headers.GetValues("X-Model-Version").Single();
                var result = await Oip.ReadAsync(response);
                // Version 4 is a copy of version 1, which adds 1.
                var expected = 10 + (version == "4" ? 1 : float.Parse(version, CultureInfo.InvariantCulture));
                if (result.Floats("y").Any(v => v != expected))
                {
                    failures.Enqueue($"version {version} answered {string.Join(",", result.Floats("y"))}");
                }

                versionsSeen.AddOrUpdate(version, 1, (_, n) => n + 1);
            }

            return count;
        })).ToArray();

        // Each step waits for traffic to have been served in the state before it, however slow the machine.
        await Poll.UntilAsync(() => versionsSeen.GetValueOrDefault("3") >= 10, "traffic served by version 3");
        _models.AddVersion("versioned", 4, "versioned", 1);
        var afterAdd = await PostIndexAsync("v2/repository/models/versioned/load");
        await Poll.UntilAsync(() => versionsSeen.GetValueOrDefault("4") >= 10, "traffic served by version 4 after its load");
        _models.WriteConfig("versioned", """{"max_batch_size": 8, "instances": 1, "version_policy": {"latest": {"num_versions": 1}}}""");
        var afterNarrow = await PostIndexAsync("v2/repository/models/versioned/load");
        var servedBeforeNarrow = versionsSeen.GetValueOrDefault("4");
        await Poll.UntilAsync(() => versionsSeen.GetValueOrDefault("4") >= servedBeforeNarrow + 10, "traffic served after the policy narrowed");
        stop.Cancel();
        var requests = (await Task.WhenAll(clients)).Sum();

        Assert.Empty(failures);
        Assert.Equal(["4", "3", "2", "1"], afterAdd.Select(r => r.GetProperty("version").GetString()));
        Assert.Equal(["4"], afterNarrow.Select(r => r.GetProperty("version").GetString()));
        Assert.True(versionsSeen.ContainsKey("3"), "traffic before the load is served by version 3");
        Assert.True(versionsSeen.ContainsKey("4"), "traffic after the load is served by version 4");
        Assert.True(requests > 20, $"only {requests} requests ran");
        Assert.Single(_server.Repository.GetReady("versioned")!);
        Assert.Equal(0, _server.Repository.Counters.LiveValues);
    }

    [Fact]
    public async Task Unload_UnderTraffic_EveryRequestGets200Or404()
    {
        using var stop = new CancellationTokenSource();
        var unexpected = new ConcurrentQueue<HttpStatusCode>();
        var ok = 0;
        var notFound = 0;
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await Client.PostAsync("v2/models/versioned/infer", Oip.Json(Request));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref ok);
                }
                else if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    Interlocked.Increment(ref notFound);
                }
                else
                {
                    unexpected.Enqueue(response.StatusCode);
                }
            }
        })).ToArray();

        await Poll.UntilAsync(() => Volatile.Read(ref ok) >= 10, "traffic served before the unload");
        await PostIndexAsync("v2/repository/models/versioned/unload");
        await Poll.UntilAsync(() => Volatile.Read(ref notFound) >= 10, "traffic answered 404 after the unload");
        stop.Cancel();
        await Task.WhenAll(clients);

        Assert.Empty(unexpected);
        Assert.Empty(_server.Repository.GetReady("versioned")!);
        Assert.Equal(0, _server.Repository.Counters.LiveValues);
    }
}
