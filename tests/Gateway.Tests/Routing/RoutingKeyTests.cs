using Microsoft.AspNetCore.Http;
using ServingGateway.Routing;

namespace ServingGateway.Gateway.Tests.Routing;

public class RoutingKeyTests
{
    [Theory]
    [InlineData("/v2/models/mlp/infer", "mlp")]
    [InlineData("/v2/models/mlp/versions/2/infer", "mlp")]
    [InlineData("/v2/models/mlp", "mlp")]
    [InlineData("/v2/repository/models/minilm/load", "minilm")]
    [InlineData("/v2/models/stats", null)]
    [InlineData("/v2/health/ready", null)]
    [InlineData("/v2", null)]
    [InlineData("/metrics", null)]
    public void ModelName_OipPaths(string path, string? expected)
    {
        Assert.Equal(expected, RoutingKey.ModelName(new PathString(path)));
    }

    [Fact]
    public void Of_WithHeader_AddsIt()
    {
        var context = new DefaultHttpContext();
        context.Request.Path = "/v2/models/mlp/infer";

        var plain = RoutingKey.Of(context.Request);
        context.Request.Headers[RoutingKey.Header] = "tenant-7";

        Assert.Equal("mlp", plain);
        Assert.Equal("mlp\ntenant-7", RoutingKey.Of(context.Request));
    }
}
