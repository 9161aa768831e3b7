namespace ServingGateway.Deployments.Rollouts;

/// <summary>A window's verdict: <paramref name="Failure"/> (why it rolls back), else <paramref name="TooFew"/> (why it is extended), else passed with <paramref name="Summary"/>.</summary>
internal sealed record RolloutVerdict(string? Failure, string? TooFew, string Summary);
