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
    [InlineData("GET", "/metrics", GatewayRoles.None)]
    [InlineData("GET", "/v2", GatewayRoles.Infer)]
    [InlineData("POST", "/v2/models/mlp/infer", GatewayRoles.Infer)]
    [InlineData("GET", "/v2/models/mlp/stats", GatewayRoles.Infer)]
    [InlineData("POST", "/v2/repository/index", GatewayRoles.Deploy)]
    [InlineData("POST", "/v2/repository/models/mlp/load", GatewayRoles.Deploy)]
    internal void Required_ByPath(string method, string path, GatewayRoles expected)
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;

        Assert.Equal(expected, ApiKeyMiddleware.Required(context.Request));
    }
}
