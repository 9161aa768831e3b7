using System.Globalization;
using StackExchange.Redis;

namespace ServingGateway.RateLimiting;

/// <summary>
/// Token buckets in Redis, shared by every edge: one atomic Lua script per request refills the bucket from
/// Redis's own clock (so edges' clocks do not matter), takes a token if there is one, and says how long
/// until the next. Buckets expire once they would be full again.
/// </summary>
/// <remarks>Throws <see cref="RedisException"/> (or a timeout) when Redis cannot answer; the caller falls back.</remarks>
internal sealed class RedisTokenBuckets : ITokenBucketStore
{
    // KEYS[1]: the bucket. ARGV: rate (tokens/s), burst. Returns {allowed, tokens left (string), ms to next token}.
    private const string Script = """
        local rate = tonumber(ARGV[1])
        local burst = tonumber(ARGV[2])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
        local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
        local tokens = tonumber(state[1])
        local at = tonumber(state[2])
        if tokens == nil or at == nil then
          tokens = burst
          at = now
        end
        tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
        local allowed = 0
        local wait = 0
        if tokens >= 1 then
          tokens = tokens - 1
          allowed = 1
        else
          wait = math.ceil((1 - tokens) * 1000 / rate)
        end
        redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
        redis.call('PEXPIREAT', KEYS[1], math.ceil(now + (burst - tokens) * 1000 / rate) + 1000)
        return {allowed, tostring(tokens), wait}
        """;

    private readonly ConnectionMultiplexer _redis;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    /// <summary>Buckets in <paramref name="redis"/>; a decision Redis has not given within <paramref name="timeout"/> throws <see cref="TimeoutException"/>.</summary>
    public RedisTokenBuckets(ConnectionMultiplexer redis, TimeSpan timeout, TimeProvider time)
    {
        _redis = redis;
        _timeout = timeout;
        _time = time;
    }

    public async ValueTask<RateLimitDecision> TakeAsync(string bucket, RateLimitRule rule, CancellationToken cancellationToken)
    {
        var result = (RedisResult[])(await _redis.GetDatabase()
            .ScriptEvaluateAsync(Script, [(RedisKey)("sg:rl:" + bucket)], [rule.Rate, rule.Burst])
            .WaitAsync(_timeout, _time, cancellationToken)
            .ConfigureAwait(false))!;
        var allowed = (long)result[0] == 1;
        var tokens = double.Parse((string)result[1]!, CultureInfo.InvariantCulture);
        var waitMs = (long)result[2];
        var remaining = (int)Math.Floor(tokens);
        return new RateLimitDecision(
            allowed,
            rule.Burst,
            remaining,
            TimeSpan.FromMilliseconds(Math.Max(1, waitMs)),
            TimeSpan.FromSeconds((rule.Burst - tokens) / rule.Rate));
    }
}
