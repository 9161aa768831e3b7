using ServingGateway.Routing;

namespace ServingGateway.Gateway.Tests.Routing;

public class RoutingKeyTests
{
    [Theory]
    [InlineData("/v2/models/mlp/infer", "/v2/models/{model}/infer", "mlp", "mlp")]
    [InlineData("/V2/MODELS/mlp/INFER", "/v2/models/{model}/infer", "mlp", "mlp")]
    [InlineData("/v2/models/stats", "/v2/models/stats", null, "/v2/models/stats")]
    [InlineData("/V2/Models/Stats/", "/v2/models/stats", null, "/v2/models/stats")]
    [InlineData("/v2/repository/models/minilm/load", "/v2/repository/models/{model}/load", "minilm", "minilm")]
    public void Of_ReadsTheBoundModelElseTheRoutePattern(string path, string pattern, string? model, string expected)
    {
        Assert.Equal(expected, RoutingKey.Of(RoutedContext.Create("GET", path, pattern, model).Request));
    }

    [Fact]
    public void Of_WithHeader_AddsIt()
    {
        var context = RoutedContext.Create("POST", "/v2/models/mlp/infer", "/v2/models/{model}/infer", "mlp");

        var plain = RoutingKey.Of(context.Request);
        context.Request.Headers[RoutingKey.Header] = "tenant-7";

        Assert.Equal("mlp", plain);
        Assert.Equal("mlp\ntenant-7", RoutingKey.Of(context.Request));
    }
}
