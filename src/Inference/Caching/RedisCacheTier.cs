using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using ServingGateway.Inference.Metrics;
using StackExchange.Redis;
using ServingGateway.Inference.Common;

namespace ServingGateway.Inference.Caching;

/// <summary>
/// L2: predictions shared by every node through Redis, in <see cref="CachedPrediction"/>'s compact binary
/// form with the model's TTL. A lookup slower than the read budget counts as a miss; writes are fire and
/// forget. Failures and overruns feed a circuit breaker, so a down or slow Redis costs requests nothing:
/// they go on with L1 alone while it is open.
/// </summary>
/// <remarks>
/// Redis is not trusted blindly. Every value is stored as an HMAC-SHA256 (over the Redis key and the
/// value, keyed from <c>Cache:RedisSecret</c>) followed by the value; a value whose MAC does not verify,
/// or that cannot be parsed, is a miss, counted in <c>sg_cache_rejected_total</c>. Redis keys are keyed
/// too (an HMAC of the prediction's key), so whoever knows a request cannot predict its Redis key.
/// Without a secret (allowed on loopback only) the MAC detects corruption, not forgery.
/// Ownership: the tier owns its connection and disposes it.
/// </remarks>
internal sealed class RedisCacheTier : IPredictionCacheTier, IDisposable
{
    /// <summary>What every Redis key of the cache starts with (c2: keyed keys, MAC-prefixed values).</summary>
    public const string KeyPrefix = "sg:c2:";

    private const int MacLength = 32;
    private static readonly byte[] Prefix = Encoding.ASCII.GetBytes(KeyPrefix);
    private readonly ConnectionMultiplexer _redis;
    private readonly TimeSpan _budget;
    private readonly TimeProvider _time;
    private readonly NodeMetrics _metrics;
    private readonly string _configuration;
    private readonly byte[] _keyKey;
    private readonly byte[] _macKey;

    public RedisCacheTier(CacheOptions options, TimeProvider time, ILogger logger, NodeMetrics metrics)
    {
        _configuration = options.Redis!;
        _redis = RedisConnections.Connect(_configuration);
        _budget = TimeSpan.FromMilliseconds(options.RedisReadBudgetMs);
        _time = time;
        _metrics = metrics;
        (_keyKey, _macKey) = DeriveKeys(options.RedisSecret);
        Breaker = new CircuitBreaker("Redis cache " + RedisConnections.Describe(_configuration), options.RedisFailuresToOpen, TimeSpan.FromSeconds(options.RedisOpenSeconds), time, logger);
    }

    public string Name => "redis";

    /// <summary>Whether lookups go to Redis now.</summary>
    public CircuitBreaker Breaker { get; }

    public async ValueTask<CachedPrediction?> GetAsync(UInt128 key, CancellationToken cancellationToken)
    {
        if (!Breaker.TryEnter(out var lease))
        {
            return null;
        }

        using var probe = lease;
        Task<RedisValue>? lookup = null;
        RedisValue value;
        var redisKey = RedisKey(key);
        try
        {
            lookup = _redis.GetDatabase().StringGetAsync(redisKey);
            value = await lookup.WaitAsync(_budget, _time, cancellationToken).ConfigureAwait(false);
            Breaker.Succeeded();
        }
        catch (TimeoutException)
        {
            Breaker.Failed($"a lookup took longer than {_budget.TotalMilliseconds} ms");
            Observe(lookup);
            return null;
        }
        catch (RedisException ex)
        {
            Breaker.Failed(RedisConnections.Redact(ex.Message, _configuration));
            return null;
        }

        return value.IsNull ? null : Open(redisKey, (ReadOnlyMemory<byte>)value);
    }

    public void Set(UInt128 key, CachedPrediction prediction, TimeSpan timeToLive)
    {
        if (Breaker.State != CircuitState.Closed)
        {
            return;
        }

        try
        {
            var redisKey = RedisKey(key);
            _redis.GetDatabase().StringSet(redisKey, Seal(redisKey, prediction.Serialize()), timeToLive, flags: CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
            // Fire and forget: a write lost while Redis is away only costs a later miss.
        }
    }

    /// <summary>Whether the connection to Redis is up now.</summary>
    internal bool IsConnected => _redis.IsConnected;

    public void Dispose() => _redis.Dispose();

    /// <summary>The Redis key of a prediction key: the prefix and the first 16 bytes of its HMAC.</summary>
    internal byte[] RedisKey(UInt128 key)
    {
        Span<byte> raw = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128LittleEndian(raw, key);
        Span<byte> mac = stackalloc byte[MacLength];
        HMACSHA256.HashData(_keyKey, raw, mac);
        var bytes = new byte[Prefix.Length + 16];
        Prefix.CopyTo(bytes, 0);
        mac[..16].CopyTo(bytes.AsSpan(Prefix.Length));
        return bytes;
    }

    /// <summary>The stored form of <paramref name="payload"/> under <paramref name="redisKey"/>: its MAC, then the payload.</summary>
    internal byte[] Seal(byte[] redisKey, ReadOnlySpan<byte> payload)
    {
        var sealedValue = new byte[MacLength + payload.Length];
        payload.CopyTo(sealedValue.AsSpan(MacLength));
        Mac(redisKey, payload, sealedValue.AsSpan(0, MacLength));
        return sealedValue;
    }

    // Verifies and parses a stored value; null (counted) when either fails.
    private CachedPrediction? Open(byte[] redisKey, ReadOnlyMemory<byte> stored)
    {
        Span<byte> expected = stackalloc byte[MacLength];
        if (stored.Length < MacLength)
        {
            _metrics.RecordCacheRejected(NodeMetrics.RejectedMac);
            return null;
        }

        var payload = stored[MacLength..];
        Mac(redisKey, payload.Span, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, stored.Span[..MacLength]))
        {
            _metrics.RecordCacheRejected(NodeMetrics.RejectedMac);
            return null;
        }

        var prediction = CachedPrediction.Deserialize(payload);
        if (prediction is null)
        {
            _metrics.RecordCacheRejected(NodeMetrics.RejectedParse);
        }

        return prediction;
    }

    private void Mac(byte[] redisKey, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        var length = redisKey.Length + payload.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            redisKey.CopyTo(buffer, 0);
            payload.CopyTo(buffer.AsSpan(redisKey.Length));
            HMACSHA256.HashData(_macKey, buffer.AsSpan(0, length), destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Two keys from the one secret, so a Redis key never doubles as a MAC of anything.
    private static (byte[] KeyKey, byte[] MacKey) DeriveKeys(string? secret)
    {
        var bytes = Encoding.UTF8.GetBytes(secret ?? "");
        return (HMACSHA256.HashData(bytes, "sg-cache-redis-key"u8), HMACSHA256.HashData(bytes, "sg-cache-redis-mac"u8));
    }

    // A lookup abandoned at its budget still completes; observe its outcome so a late fault is not unobserved.
    private static void Observe(Task? lookup) =>
        lookup?.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
