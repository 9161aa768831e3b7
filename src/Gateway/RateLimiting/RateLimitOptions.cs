namespace ServingGateway.RateLimiting;

/// <summary>
/// Token-bucket rate limits, bound from the configuration section <c>RateLimits</c> and reloaded when the
/// configuration changes. Each caller (API key name; anonymous callers by client address) has a bucket
/// per limit: the model's own limit when <see cref="Models"/> has one, else <see cref="Default"/>.
/// Shared by all edges through Redis when <c>--redis</c> is set.
/// </summary>
public sealed class RateLimitOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "RateLimits";

    /// <summary>The limit of every request that no model limit covers; none when unset.</summary>
    public RateLimitRule? Default { get; set; }

    /// <summary>Per-model limits, by model name.</summary>
    public Dictionary<string, RateLimitRule> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// With <c>--redis</c>: how long a decision may wait for Redis before this edge decides it in its local buckets
    /// (and counts a failure toward the circuit breaker). Default 250 ms; 1 to 60000. Read at start.
    /// </summary>
    public double RedisDecisionBudgetMs { get; set; } = 250;

    /// <summary>Lists every invalid setting.</summary>
    public IEnumerable<string> Validate()
    {
        if (RedisDecisionBudgetMs is < 1 or > 60_000 || double.IsNaN(RedisDecisionBudgetMs))
        {
            yield return $"RateLimits:RedisDecisionBudgetMs must be from 1 to 60000; it is {RedisDecisionBudgetMs}.";
        }

        if (Default is { } rule)
        {
            foreach (var error in rule.Validate("RateLimits:Default"))
            {
                yield return error;
            }
        }

        foreach (var (model, modelRule) in Models)
        {
            foreach (var error in modelRule.Validate($"RateLimits:Models:{model}"))
            {
                yield return error;
            }
        }
    }
}

/// <summary>A token bucket: <see cref="Rate"/> tokens a second, holding at most <see cref="Burst"/>.</summary>
public sealed class RateLimitRule
{
    /// <summary>Tokens added per second (requests per second sustained). 0.001 to 1 000 000.</summary>
    public double Rate { get; set; }

    /// <summary>The bucket's size (requests at once). 1 to 1 000 000.</summary>
    public int Burst { get; set; }

    /// <summary>Lists what is wrong with the rule.</summary>
    public IEnumerable<string> Validate(string where)
    {
        if (Rate is < 0.001 or > 1_000_000)
        {
            yield return $"{where}:Rate must be from 0.001 to 1000000 requests a second; it is {Rate}.";
        }

        if (Burst is < 1 or > 1_000_000)
        {
            yield return $"{where}:Burst must be from 1 to 1000000; it is {Burst}.";
        }
    }
}
