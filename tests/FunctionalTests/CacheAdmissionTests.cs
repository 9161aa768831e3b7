using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.Inference.Caching;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>The cache's default admission over HTTP: one-off inputs are not stored, repeated ones are.</summary>
public sealed class CacheAdmissionTests : IAsyncLifetime
{
    private readonly TempModelRepository _models = new("mlp");
    private GatewayServer _server = null!;

    public async Task InitializeAsync()
    {
        // The default configuration of a cached model: no "admission", no Cache:* settings.
        _models.WriteConfig("mlp", """{"max_batch_size": 64, "instances": 2, "cache": {"enable": true}}""");
        _server = await GatewayServer.StartAsync(_models.Path);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _models.Dispose();
    }

    private static string Request(int seed) =>
        Oip.JsonRequest("input", [1, 64], [.. Enumerable.Range(0, 64).Select(i => (float)((seed * 64) + i))], id: $"id-{seed}");

    private async Task<string> InferAsync(string body)
    {
        using var response = await _server.Client.PostAsync("v2/models/mlp/infer", Oip.Json(body));
        response.EnsureSuccessStatusCode();
        return response.Headers.GetValues("X-Cache").Single();
    }

    [Fact]
    public async Task Infer_DefaultConfig_DistinctInputsNotStoredRepeatedOneStored()
    {
        var cache = _server.Services<PredictionCache>();
        var distinct = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            distinct.Add(await InferAsync(Request(i)));
        }

        var storedAfterDistinct = cache.Memory.Count;
        var repeated = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            repeated.Add(await InferAsync(Request(1000)));
        }

        Assert.All(distinct, outcome => Assert.Equal("miss", outcome));
        Assert.Equal(0, storedAfterDistinct);
        Assert.Equal(["miss", "miss", "hit-memory"], repeated);
        Assert.Equal(2, cache.Memory.Count); // the prediction and the whole response, both at the second sighting
    }
}
