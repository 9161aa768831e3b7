using System.Globalization;
using Microsoft.Extensions.Options;
using ServingGateway.Auth;
using ServingGateway.Edge;
using ServingGateway.Inference.Common;
using ServingGateway.Inference.Serving;
using ServingGateway.Observability;
using ServingGateway.Routing;
using StackExchange.Redis;

namespace ServingGateway.RateLimiting;

/// <summary>
/// Takes a token for every request to an endpoint that needs a role (the endpoint the router selected, after
/// authorization) from the caller's bucket of the limit that covers it (the model's own, by the model name
/// the router bound, else the default), in Redis when one is configured (one limit for all edges), else in
/// process, and in process too while Redis cannot answer. Every limited response carries RateLimit-Limit,
/// RateLimit-Remaining and RateLimit-Reset; a refusal is a 429 with a JSON error and a Retry-After that is
/// never 0 and never shorter than the wait for the next token.
/// </summary>
internal sealed class RateLimitMiddleware
{
    private readonly RequestDelegate _next;
    private readonly IOptionsMonitor<RateLimitOptions> _options;
    private readonly LocalTokenBuckets _local;
    private readonly SharedBuckets? _shared;
    private readonly EdgeMetrics _metrics;

    public RateLimitMiddleware(RequestDelegate next, IOptionsMonitor<RateLimitOptions> options, LocalTokenBuckets local, EdgeMetrics metrics, SharedBuckets? shared = null)
    {
        _next = next;
        _options = options;
        _local = local;
        _metrics = metrics;
        _shared = shared;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        // Public endpoints, /metrics and what the router made itself (404, 405) serve nothing to limit.
        if (context.GetEndpoint()?.Metadata.GetMetadata<RequiredRole>() is not { Role: not GatewayRoles.None })
        {
            await _next(context);
            return;
        }

        var options = _options.CurrentValue;
        var model = RoutingKey.ModelName(context.Request);
        var (rule, limit) = model is not null && options.Models.TryGetValue(model, out var own) ? (own, model) : (options.Default, "default");
        if (rule is null)
        {
            await _next(context);
            return;
        }

        var caller = context.Items[ApiKeyMiddleware.CallerItem] as string ?? "anonymous";
        if (caller == "anonymous")
        {
            caller = "ip:" + context.Connection.RemoteIpAddress;
        }

        RateLimitDecision decision;
        using (var span = GatewayTelemetry.Source.StartChild("rate limit"))
        {
            decision = await TakeAsync($"{limit}\n{caller}", rule, context.RequestAborted);
            span?.SetTag("ratelimit.limit", limit);
            span?.SetTag("ratelimit.allowed", decision.Allowed);
        }

        var headers = context.Response.Headers;
        headers["RateLimit-Limit"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = Math.Max(0, decision.Remaining).ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Reset"] = WholeSeconds(decision.Reset).ToString(CultureInfo.InvariantCulture);
        if (decision.Allowed)
        {
            await _next(context);
            return;
        }

        _metrics.RateLimited(limit);
        await ErrorResponse.WriteAsync(
            context,
            StatusCodes.Status429TooManyRequests,
            $"rate limit exceeded: {rule.Burst} requests at once, {rule.Rate.ToString(CultureInfo.InvariantCulture)} a second ({(limit == "default" ? "the default limit" : $"model '{limit}'")}); retry after {WholeSeconds(decision.RetryAfter)} s",
            decision.RetryAfter);
    }

    // Rounded up, at least 1: never tells a client to come back before it can.
    private static long WholeSeconds(TimeSpan span) => Math.Max(1, (long)Math.Ceiling(span.TotalSeconds));

    private async ValueTask<RateLimitDecision> TakeAsync(string bucket, RateLimitRule rule, CancellationToken cancellationToken)
    {
        if (_shared is not null && _shared.Breaker.TryEnter(out var lease))
        {
            using var probe = lease;
            try
            {
                var decision = await _shared.Store.TakeAsync(bucket, rule, cancellationToken);
                _shared.Breaker.Succeeded();
                _metrics.Decided(inRedis: true);
                return decision;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                _shared.Breaker.Failed(RedisConnections.Redact(ex.Message, _shared.Configuration));
            }
        }

        _metrics.Decided(inRedis: false);
        return await _local.TakeAsync(bucket, rule, cancellationToken);
    }

    /// <summary>The Redis buckets and the circuit breaker that falls back to local buckets while Redis is away.</summary>
    internal sealed class SharedBuckets(RedisTokenBuckets store, CircuitBreaker breaker, string configuration)
    {
        /// <summary>The Redis configuration string, only to mask it in error messages.</summary>
        public string Configuration { get; } = configuration;

        public RedisTokenBuckets Store { get; } = store;

        public CircuitBreaker Breaker { get; } = breaker;
    }
}
