namespace ServingGateway.RateLimiting;

/// <summary>What a bucket said about one request.</summary>
/// <param name="Allowed">Whether the request may go on.</param>
/// <param name="Limit">The bucket's size (RateLimit-Limit).</param>
/// <param name="Remaining">Whole tokens left after this request (RateLimit-Remaining).</param>
/// <param name="RetryAfter">For a refused request: how long until a token is there; never zero.</param>
/// <param name="Reset">How long until the bucket is full again (RateLimit-Reset).</param>
internal readonly record struct RateLimitDecision(bool Allowed, int Limit, int Remaining, TimeSpan RetryAfter, TimeSpan Reset);
