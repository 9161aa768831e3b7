using Microsoft.AspNetCore.Builder;
using ServingGateway.Hosting;

namespace ServingGateway.Gateway.Tests.Hosting;

public class GatewayAppTests
{
    private static WebApplication Build(params string[] args) => GatewayApp.Build(CommandLine.Parse(args));

    [Fact]
    public async Task Build_NoUrls_ListensOnLoopback8000()
    {
        await using var app = Build();

        Assert.Equal(GatewayApp.DefaultUrls, app.Configuration["urls"]);
        Assert.Equal("http://127.0.0.1:8000", GatewayApp.DefaultUrls);
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
