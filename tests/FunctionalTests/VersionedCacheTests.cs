using System.Globalization;
using System.Net;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// The cache on a model with several versions: versions 1 and 2 have byte-identical files (so the same
/// digest), version 3 different ones; each answer must be its own version's, never another's cached one.
/// </summary>
public sealed class VersionedCacheTests : IAsyncLifetime
{
    // y = x + k; version 2 is a copy of version 1's files, version 3 is the test model's version 3.
    private static readonly Dictionary<int, float> Offset = new() { [1] = 1f, [2] = 1f, [3] = 3f };
    private static readonly float[] Input = [0.5f, 1.5f, -2f, 4f];
    private readonly TempModelRepository _models = new();
    private GatewayServer _server = null!;

    public async Task InitializeAsync()
    {
        _models.AddVersion("vc", 1, "versioned", 1);
        _models.AddVersion("vc", 2, "versioned", 1);
        _models.AddVersion("vc", 3, "versioned", 3);
        _models.WriteConfig("vc", """{"max_batch_size": 8, "instances": 1, "version_policy": {"all": {}}, "cache": {"enable": true, "ttl_seconds": 300, "admission": "always"}}""");
        _server = await GatewayServer.StartAsync(_models.Path);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _models.Dispose();
    }

    [Fact]
    public async Task Infer_SameBodyToEachVersion_EachAnswersItsOwnVersionAndOutputs()
    {
        var digests = new Dictionary<int, string>();
        foreach (var version in new[] { 1, 2, 3 })
        {
            var caches = new List<string>();
            for (var round = 0; round < 3; round++)
            {
                // The byte-identical body (the exact-response key) and the same tensors under another id (the prediction key).
                foreach (var id in new[] { "same", $"v{version}-r{round}" })
                {
                    var (cache, digest) = await InferAndCheckAsync(version, Oip.JsonRequest("x", [1, 4], Input, id));
                    caches.Add(cache);
                    digests[version] = digest;
                }
            }

            // The first sighting of these tensors by this version computes them; repeats come from the cache.
            Assert.Equal("miss", caches[0]);
            Assert.Equal("hit-memory", caches[^1]);
            Assert.Equal("hit-memory", caches[^2]);
        }

        Assert.Equal(digests[1], digests[2]);
        Assert.NotEqual(digests[1], digests[3]);
    }

    [Fact]
    public async Task Infer_VersionsInterleaved_EachAnswersItsOwnVersionAndOutputs()
    {
        var input = Oip.JsonRequest("x", [1, 4], [7f, 8f, 9f, 10f], "same");
        for (var round = 0; round < 4; round++)
        {
            foreach (var version in new[] { 3, 2, 1 })
            {
                var (cache, _) = await InferAndCheckAsync(version, input, [7f, 8f, 9f, 10f]);
                if (round == 0)
                {
                    Assert.Equal("miss", cache);
                }
            }
        }
    }

    // Checks the version in the header and the body, and the outputs against y = x + k of that version.
    private async Task<(string Cache, string Digest)> InferAndCheckAsync(int version, string body, float[]? input = null)
    {
        var text = version.ToString(CultureInfo.InvariantCulture);
        using var response = await _server.Client.PostAsync($"v2/models/vc/versions/{text}/infer", Oip.Json(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cache = response.Headers.GetValues("X-Cache").Single();
        var parsed = await Oip.ReadAsync(response);

        Assert.Equal(text, response.Headers.GetValues("X-Model-Version").Single());
        Assert.True(text == parsed.Json.GetProperty("model_version").GetString(), $"version {text} answered with the body of version {parsed.Json.GetProperty("model_version").GetString()} ({cache})");
        Assert.Equal([.. (input ?? Input).Select(x => x + Offset[version])], parsed.Floats("y"));
        return (cache, response.Headers.GetValues("X-Model-Digest").Single());
    }
}
