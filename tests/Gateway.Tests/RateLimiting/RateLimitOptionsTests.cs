using ServingGateway.RateLimiting;

namespace ServingGateway.Gateway.Tests.RateLimiting;

public sealed class RateLimitOptionsTests
{
    [Fact]
    public void Validate_Defaults_NoErrorAndA250MsRedisBudget()
    {
        var options = new RateLimitOptions();

        Assert.Empty(options.Validate());
        Assert.Equal(250, options.RedisDecisionBudgetMs);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(60_001)]
    [InlineData(double.NaN)]
    public void Validate_RedisBudgetOutOfRange_NamesTheKey(double budget)
    {
        var errors = new RateLimitOptions { RedisDecisionBudgetMs = budget }.Validate().ToList();

        Assert.Contains(errors, e => e.StartsWith("RateLimits:RedisDecisionBudgetMs must be from 1 to 60000", StringComparison.Ordinal));
    }
}
