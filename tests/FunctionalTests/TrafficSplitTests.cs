using System.Net;
using ServingGateway.Deployments;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// The traffic split on a real standalone server (issue 13 item 3), with the shadow it mirrors to: model <c>scaled</c>
/// has version 2 (y = 2x) and version 3 (y = 3x, the highest, which the node alone would serve). The split is set as
/// the rollout controller sets it (ITrafficSplits); requests and answers go over HTTP.
/// </summary>
public sealed class TrafficSplitTests : IAsyncLifetime
{
    private const string Model = ScaledModel.Name;
    private readonly TempModelRepository _models = new();
    private GatewayServer _server = null!;

    public async Task InitializeAsync()
    {
        ScaledModel.AddTo(_models, """{"max_batch_size": 8, "instances": 1, "version_policy": {"all": {}}}""");
        _server = await GatewayServer.StartAsync(_models.Path);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _models.Dispose();
    }

    [Fact]
    public async Task Infer_SplitAllToTwoWithThreeAsShadow_CallersGetTwoAndTheShadowIsComparedAtHalf()
    {
        _server.Services<ITrafficSplits>().Set(Model, new TrafficSplit([new VersionShare(2, 100)], new ShadowMirror(3, 1)));
        var evidence = _server.Services<IRolloutEvidence>();
        evidence.StartWindow(Model);

        const int Requests = 10;
        for (var i = 0; i < Requests; i++)
        {
            // Half the callers ask for binary outputs: their answers are copied for the shadow as they went out.
            var binary = i % 2 == 1;
            var body = Oip.JsonRequest("x", [2, 4], [.. Enumerable.Range(0, 8).Select(k => (float)(k + 1 + i))], extra: binary ? ""","outputs":[{"name":"y","parameters":{"binary_data":true}}]""" : "");
            using var response = await _server.Client.PostAsync($"v2/models/{Model}/infer", Oip.Json(body));

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("2", response.Headers.GetValues("X-Model-Version").Single()); // never the shadow's answer
            var y = (await Oip.ReadAsync(response)).Floats("y");
            Assert.Equal([.. Enumerable.Range(0, 8).Select(k => 2f * (k + 1 + i))], y);
        }

        await Poll.UntilAsync(() => evidence.Read(Model, 3).Compared == Requests, "every request compared on the shadow");
        var shadow = evidence.Read(Model, 3);
        Assert.Equal(0.5, shadow.MaxDivergence, 6);
        Assert.Equal((Requests, 0L), (shadow.Requests, shadow.Errors));
        var served = evidence.Read(Model, 2);
        Assert.Equal((Requests, 0L, 0L), (served.Requests, served.Errors, served.Compared));
    }

    [Fact]
    public async Task Infer_SplitPinAndVersionedPath_EachReachesItsVersion()
    {
        var body = Oip.JsonRequest("x", [1, 4], [1f, 2f, 3f, 4f]);
        Assert.Equal("3", await VersionOfAsync($"v2/models/{Model}/infer", body, pin: null)); // no split: the highest

        _server.Services<ITrafficSplits>().Set(Model, TrafficSplit.All(2));

        Assert.Equal("2", await VersionOfAsync($"v2/models/{Model}/infer", body, pin: null));
        Assert.Equal("3", await VersionOfAsync($"v2/models/{Model}/infer", body, pin: "3"));
        Assert.Equal("3", await VersionOfAsync($"v2/models/{Model}/versions/3/infer", body, pin: null));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v2/models/{Model}/infer") { Content = Oip.Json(body) };
        request.Headers.Add("X-Model-Version", "03");
        using var refused = await _server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("X-Model-Version must be one version number", await Oip.ReadErrorAsync(refused), StringComparison.Ordinal);
    }

    private async Task<string> VersionOfAsync(string path, string body, string? pin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Oip.Json(body) };
        if (pin is not null)
        {
            request.Headers.Add("X-Model-Version", pin);
        }

        using var response = await _server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.GetValues("X-Model-Version").Single();
    }
}
