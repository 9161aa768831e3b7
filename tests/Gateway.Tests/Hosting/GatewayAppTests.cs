using Microsoft.AspNetCore.Builder;
using ServingGateway.Hosting;

namespace ServingGateway.Gateway.Tests.Hosting;

public class GatewayAppTests
{
    private static WebApplication Build(params string[] args) => GatewayApp.Build(CommandLine.Parse(args));

    [Fact]
    public async Task Build_NoUrls_ListensOnLoopback8000_AndGrpcOn8001()
    {
        await using var app = Build();

        // With the gRPC listener, both are Kestrel endpoints (HTTP/2 only for gRPC) and the host's URLs are empty.
        Assert.Equal(GatewayApp.DefaultUrls, app.Configuration["Kestrel:Endpoints:Rest0:Url"]);
        Assert.Equal("http://127.0.0.1:8000", GatewayApp.DefaultUrls);
        Assert.Equal("http://127.0.0.1:8001", app.Configuration["Kestrel:Endpoints:Grpc0:Url"]);
        Assert.Equal("Http2", app.Configuration["Kestrel:Endpoints:Grpc0:Protocols"]);
        Assert.Equal("", app.Configuration["urls"]);
    }

    [Fact]
    public async Task Build_UrlsWithoutGrpcUrls_NoGrpcListener()
    {
        await using var app = Build("--urls", "http://127.0.0.1:9000");

        Assert.Equal("http://127.0.0.1:9000", app.Configuration["urls"]);
        Assert.Empty(app.Configuration.GetSection("Kestrel:Endpoints").GetChildren());
    }

    [Fact]
    public async Task Build_BothUrls_RestAndGrpcEndpoints()
    {
        await using var app = Build("--urls", "http://127.0.0.1:9000;http://[::1]:9000", "--grpc-urls", "http://127.0.0.1:9001");

        Assert.Equal("http://127.0.0.1:9000", app.Configuration["Kestrel:Endpoints:Rest0:Url"]);
        Assert.Equal("http://[::1]:9000", app.Configuration["Kestrel:Endpoints:Rest1:Url"]);
        Assert.Equal("http://127.0.0.1:9001", app.Configuration["Kestrel:Endpoints:Grpc0:Url"]);
        Assert.Null(app.Configuration["Kestrel:Endpoints:Grpc1:Url"]);
    }

    [Theory]
    [InlineData("standalone")]
    [InlineData("node")]
    [InlineData("Node")]
    public async Task Build_SupportedRole_Builds(string role)
    {
        await using var app = Build("--role", role);

        Assert.Equal(role, app.Configuration["Role"]);
    }

    [Theory]
    [InlineData("edge", "role edge needs nodes")]
    [InlineData("gpu", "--role must be standalone, node or edge; it is 'gpu'")]
    [InlineData("1", "--role must be standalone, node or edge; it is '1'")]
    public void Build_UnsupportedRole_Throws(string role, string expected)
    {
        var ex = Assert.Throws<StartupException>(() => Build("--role", role));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_MissingConfigFileAndBadSwitch_ListsBoth()
    {
        var ex = Assert.Throws<StartupException>(() => Build("--config", "/nonexistent/gateway.json", "--nope", "x"));

        Assert.Contains("/nonexistent/gateway.json does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Contains("unknown switch --nope", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_ConfigFile_IsReadBelowSwitches()
    {
        var file = Path.Combine(Path.GetTempPath(), $"sg-config-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """{"Inference": {"ModelRepository": "from-file", "DefaultInstances": 3}}""");
        try
        {
            await using var app = Build("--config", file, "--models", "from-switch");

            Assert.Equal("from-switch", app.Configuration["Inference:ModelRepository"]);
            Assert.Equal("3", app.Configuration["Inference:DefaultInstances"]);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
