namespace ServingGateway.RateLimiting;

/// <summary>Where token buckets live: in this process, or in Redis shared by every edge.</summary>
internal interface ITokenBucketStore
{
    /// <summary>Takes one token from bucket <paramref name="bucket"/> governed by <paramref name="rule"/>.</summary>
    ValueTask<RateLimitDecision> TakeAsync(string bucket, RateLimitRule rule, CancellationToken cancellationToken);
}
