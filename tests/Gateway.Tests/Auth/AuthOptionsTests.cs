using ServingGateway.Auth;

namespace ServingGateway.Gateway.Tests.Auth;

public class AuthOptionsTests
{
    [Fact]
    public void Validate_GoodKey_NoErrors()
    {
        var options = new AuthOptions { Keys = [new() { Name = "ci", Sha256 = ApiKeyMiddleware.Hash("secret"), Roles = ["infer", "Deploy"] }] };

        Assert.Empty(options.Validate());
        Assert.Equal("2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b", ApiKeyMiddleware.Hash("secret"));
    }

    [Fact]
    public void Validate_EveryMistake_Listed()
    {
        var options = new AuthOptions
        {
            AnonymousRoles = ["root"],
            Keys =
            [
                new() { Name = "", Sha256 = "abc", Roles = [] },
                new() { Name = "x", Sha256 = new string('a', 64), Roles = ["sudo"] },
                new() { Name = "y", Sha256 = new string('A', 64), Roles = ["infer"] },
            ],
        };

        var errors = options.Validate().ToList();

        Assert.Contains(errors, e => e.Contains("Auth:AnonymousRoles: unknown role 'root'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Auth:Keys:0: Name is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Auth:Keys:0: Sha256 must be", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Auth:Keys:0: Roles must name", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Auth:Keys:1: unknown role 'sudo'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("configured twice (x, y)", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("GET", "/v2/health/ready", GatewayRoles.None)]
    [InlineData("GET", "/v2/health/live", GatewayRoles.None)]
    [InlineData("GET", "/v2", GatewayRoles.Infer)]
    [InlineData("POST", "/v2/models/{model}/infer", GatewayRoles.Infer)]
    [InlineData("GET", "/v2/models/{model}/stats", GatewayRoles.Infer)]
    [InlineData("GET", "/v2/models/stats", GatewayRoles.Infer)]
    [InlineData("POST", "/v2/repository/index", GatewayRoles.Deploy)]
    [InlineData("POST", "/v2/repository/models/{model}/load", GatewayRoles.Deploy)]
    [InlineData("POST", "/v2/repository/models/{model}/unload", GatewayRoles.Deploy)]
    internal void Build_Standalone_EveryEndpointCarriesItsRole(string method, string pattern, GatewayRoles expected)
    {
        using var app = (IDisposable)ServingGateway.Hosting.GatewayApp.Build(ServingGateway.Hosting.CommandLine.Parse(["--models", ServingGateway.TestSupport.RepoPaths.TestModels]));
        var endpoints = ((Microsoft.AspNetCore.Routing.IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>().ToList();

        var endpoint = Assert.Single(endpoints, e => e.RoutePattern.RawText == pattern && e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()!.HttpMethods.Contains(method));

        Assert.Equal(expected, endpoint.Metadata.GetMetadata<RequiredRole>()?.Role);
        Assert.Empty(NodeEndpointRoles.MissingRoles(((Microsoft.AspNetCore.Routing.IEndpointRouteBuilder)app).DataSources));
    }

    [Fact]
    public void Validate_MetricsRoleUnknownAndNoKeysWithAnonymousRefused_Listed()
    {
        var errors = new AuthOptions { MetricsRole = "root", AllowAnonymous = false }.Validate().ToList();

        Assert.Contains(errors, e => e.Contains("Auth:MetricsRole must be public, infer, deploy or admin; it is 'root'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Auth:AllowAnonymous is false and Auth:Keys is empty", StringComparison.Ordinal));
        Assert.Empty(new AuthOptions { MetricsRole = "Public" }.Validate());
    }
}
