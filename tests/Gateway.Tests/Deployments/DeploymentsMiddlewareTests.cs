using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Deployments;

namespace ServingGateway.Gateway.Tests.Deployments;

public sealed class DeploymentsMiddlewareTests
{
    private const string Infer = "/v2/models/{model}/infer";
    private const string VersionedInfer = "/v2/models/{model}/versions/{version}/infer";

    private readonly TrafficSplits _splits = new();
    private readonly RolloutEvidence _evidence = new();
    private readonly FakeTimeProvider _time = new();
    private int _nextCalls;

    [Fact]
    public async Task Invoke_NoSplitNoPin_LeavesTheVersionToTheNode()
    {
        var context = await RunAsync(Request());

        Assert.Equal(1, _nextCalls);
        Assert.Null(context.Request.RouteValues["version"]);
        Assert.Null(context.Features.Get<DeploymentChoice>());
    }

    [Fact]
    public async Task Invoke_PinHeader_ReachesThatVersionByItsPath()
    {
        _splits.Set("mlp", TrafficSplit.All(1));

        var context = await RunAsync(Request(pin: "2"));

        Assert.Equal("2", context.Request.RouteValues["version"]);
        Assert.Equal("/v2/models/mlp/versions/2/infer", context.Features.Get<DeploymentChoice>()!.VersionedPath);
    }

    [Theory]
    [InlineData("01")]
    [InlineData("two")]
    [InlineData("-1")]
    [InlineData("1.0")]
    [InlineData("")]
    public async Task Invoke_PinNotAVersionNumber_400JsonAndNotServed(string pin)
    {
        var context = await RunAsync(Request(pin: pin));

        Assert.Equal(0, _nextCalls);
        Assert.Equal(StatusCodes.Status400BadRequest, context.Response.StatusCode);
        context.Response.Body.Position = 0;
        using var body = await JsonDocument.ParseAsync(context.Response.Body);
        Assert.Contains("X-Model-Version must be one version number", body.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invoke_VersionedRoute_AlwaysReachesItsVersion()
    {
        _splits.Set("mlp", TrafficSplit.All(1));

        var context = await RunAsync(Request(pattern: VersionedInfer, version: "3", pin: "2"));

        Assert.Equal("3", context.Request.RouteValues["version"]);
        Assert.Null(context.Features.Get<DeploymentChoice>());
    }

    [Fact]
    public async Task Invoke_NotAnInferEndpoint_Untouched()
    {
        _splits.Set("mlp", TrafficSplit.All(1));

        var context = await RunAsync(Request(pattern: "/v2/models/{model}", pin: "nonsense"));

        Assert.Equal(1, _nextCalls);
        Assert.Null(context.Request.RouteValues["version"]);
    }

    [Fact]
    public async Task Invoke_Split30To70_DrawsEachVersionByItsShare()
    {
        _splits.Set("mlp", new TrafficSplit([new VersionShare(2, 30), new VersionShare(1, 70)]));

        var toTwo = 0;
        const int Requests = 10_000;
        for (var i = 0; i < Requests; i++)
        {
            var context = await RunAsync(Request());
            toTwo += (string)context.Request.RouteValues["version"]! == "2" ? 1 : 0;
        }

        // Binomial: a standard deviation of 0.46% at 10,000 draws; 3% is more than six of them.
        Assert.InRange(toTwo / (double)Requests, 0.27, 0.33);
    }

    [Fact]
    public async Task Invoke_RoutingKey_OneVersionPerKeyAndKeptAsTheShareGrows()
    {
        var keys = Enumerable.Range(0, 1000).Select(i => $"user-{i}").ToList();
        HashSet<string>? onNew = null;
        foreach (var percent in new[] { 5, 25, 50, 100 })
        {
            _splits.Set("mlp", new TrafficSplit([new VersionShare(2, percent), new VersionShare(1, 100 - percent)]));
            var now = new HashSet<string>();
            foreach (var key in keys)
            {
                var first = await VersionForAsync(key);
                Assert.Equal(first, await VersionForAsync(key)); // the same key, the same version while the split holds
                if (first == "2")
                {
                    now.Add(key);
                }
            }

            Assert.InRange(now.Count, percent * 10 - 60, percent * 10 + 60);
            Assert.True(onNew is null || onNew.IsSubsetOf(now), $"a key on version 2 at a lower share left it at {percent}%");
            onNew = now;
        }
    }

    [Fact]
    public async Task Invoke_UnderASplit_EachAnswerRecordedByTheVersionThatGaveIt()
    {
        _splits.Set("mlp", new TrafficSplit([new VersionShare(2, 50), new VersionShare(1, 50)]));
        _evidence.StartWindow("mlp");

        await RunAsync(Request(pin: "2"), status: 503, answeredBy: "2", took: TimeSpan.FromMilliseconds(40));
        await RunAsync(Request(pin: "2"), status: 400, answeredBy: null, took: TimeSpan.FromMilliseconds(1)); // a caller's error: the pinned version
        await RunAsync(Request(pin: "1"), status: 200, answeredBy: "1", took: TimeSpan.FromMilliseconds(10));

        var two = _evidence.Read("mlp", 2);
        Assert.Equal((2L, 1L), (two.Requests, two.Errors));
        Assert.InRange(two.P99Ms, 40, 42);
        var one = _evidence.Read("mlp", 1);
        Assert.Equal((1L, 0L), (one.Requests, one.Errors));
        Assert.InRange(one.P50Ms, 10, 10.5);
    }

    [Fact]
    public async Task Invoke_NoSplit_NothingRecorded()
    {
        await RunAsync(Request(pin: "2"), status: 200, answeredBy: "2", took: TimeSpan.FromMilliseconds(5));

        Assert.Equal(0, _evidence.Read("mlp", 2).Requests);
    }

    private async Task<string> VersionForAsync(string routingKey)
    {
        var context = Request();
        context.Request.Headers["X-Routing-Key"] = routingKey;
        return (string)(await RunAsync(context)).Request.RouteValues["version"]!;
    }

    private static DefaultHttpContext Request(string pattern = Infer, string? version = null, string? pin = null)
    {
        var context = RoutedContext.Create("POST", "/v2/models/mlp/infer", pattern, "mlp");
        if (version is not null)
        {
            context.Request.RouteValues["version"] = version;
        }

        if (pin is not null)
        {
            context.Request.Headers["X-Model-Version"] = pin;
        }

        context.Response.Body = new MemoryStream();
        return context;
    }

    // Runs the middleware with an endpoint that answers <status> (naming <answeredBy>) after <took> on the fake clock,
    // then completes the response as the server would.
    private async Task<DefaultHttpContext> RunAsync(DefaultHttpContext context, int status = 200, string? answeredBy = null, TimeSpan took = default)
    {
        var response = new CompletingResponseFeature(context.Features.Get<IHttpResponseFeature>()!);
        context.Features.Set<IHttpResponseFeature>(response);
        var middleware = new DeploymentsMiddleware(
            c =>
            {
                _nextCalls++;
                _time.Advance(took);
                c.Response.StatusCode = status;
                if (answeredBy is not null)
                {
                    c.Response.Headers["X-Model-Version"] = answeredBy;
                }

                return Task.CompletedTask;
            },
            _splits,
            _evidence,
            _time,
            new ServiceCollection().BuildServiceProvider());
        await middleware.InvokeAsync(context);
        await response.CompleteAsync();
        return context;
    }

    // The default feature drops OnCompleted callbacks; a server runs them once the answer is sent.
    private sealed class CompletingResponseFeature(IHttpResponseFeature inner) : IHttpResponseFeature
    {
        private readonly List<(Func<object, Task> Callback, object State)> _completed = [];

        public int StatusCode { get => inner.StatusCode; set => inner.StatusCode = value; }

        public string? ReasonPhrase { get => inner.ReasonPhrase; set => inner.ReasonPhrase = value; }

        public IHeaderDictionary Headers { get => inner.Headers; set => inner.Headers = value; }

#pragma warning disable CS0618 // the interface still declares it
        public Stream Body { get => inner.Body; set => inner.Body = value; }
#pragma warning restore CS0618

        public bool HasStarted => inner.HasStarted;

        public void OnStarting(Func<object, Task> callback, object state) => inner.OnStarting(callback, state);

        public void OnCompleted(Func<object, Task> callback, object state) => _completed.Add((callback, state));

        public async Task CompleteAsync()
        {
            foreach (var (callback, state) in _completed)
            {
                await callback(state);
            }
        }
    }
}
