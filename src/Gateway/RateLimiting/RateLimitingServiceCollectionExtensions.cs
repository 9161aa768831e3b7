using ServingGateway.Hosting;
using ServingGateway.Inference.Common;

namespace ServingGateway.RateLimiting;

/// <summary>Wires the token-bucket rate limits: local buckets always, shared buckets in Redis when one is configured.</summary>
internal static class RateLimitingServiceCollectionExtensions
{
    /// <summary>
    /// Rate limits (reloaded with the --config file, through the same checks as at start), decided in
    /// <paramref name="redis"/> when set (behind a circuit breaker, falling back to the local buckets).
    /// </summary>
    public static IServiceCollection AddRateLimits(this IServiceCollection services, IConfiguration configuration, string? redis)
    {
        ReloadableOptions.Add<RateLimitOptions>(services, configuration, RateLimitOptions.SectionName, o => o.Validate());
        services.AddSingleton<LocalTokenBuckets>();
        if (!string.IsNullOrWhiteSpace(redis))
        {
            services.AddSingleton(sp =>
            {
                var connection = RedisConnections.Connect(redis);
                var time = sp.GetRequiredService<TimeProvider>();
                var breaker = new CircuitBreaker(
                    "Redis rate limits " + RedisConnections.Describe(redis), 3, TimeSpan.FromSeconds(2), time, sp.GetRequiredService<ILogger<RateLimitMiddleware>>());
                var budget = TimeSpan.FromMilliseconds(sp.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<RateLimitOptions>>().CurrentValue.RedisDecisionBudgetMs);
                return new RateLimitMiddleware.SharedBuckets(new RedisTokenBuckets(connection, budget, time), breaker, redis);
            });
        }

        return services;
    }
}
