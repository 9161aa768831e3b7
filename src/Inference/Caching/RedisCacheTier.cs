using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ServingGateway.Inference.Caching;

/// <summary>
/// L2: predictions shared by every node through Redis, in <see cref="CachedPrediction"/>'s compact binary
/// form with the model's TTL. A lookup slower than the read budget counts as a miss; writes are fire and
/// forget. Failures and overruns feed a circuit breaker, so a down or slow Redis costs requests nothing:
/// they go on with L1 alone while it is open.
/// </summary>
/// <remarks>Ownership: the tier owns its connection and disposes it.</remarks>
internal sealed class RedisCacheTier : IPredictionCacheTier, IDisposable
{
    private static readonly byte[] Prefix = "sg:c1:"u8.ToArray();
    private readonly ConnectionMultiplexer _redis;
    private readonly TimeSpan _budget;
    private readonly TimeProvider _time;

    public RedisCacheTier(CacheOptions options, TimeProvider time, ILogger logger)
    {
        _redis = RedisConnections.Connect(options.Redis!);
        _budget = TimeSpan.FromMilliseconds(options.RedisReadBudgetMs);
        _time = time;
        Breaker = new CircuitBreaker("Redis cache " + options.Redis, options.RedisFailuresToOpen, TimeSpan.FromSeconds(options.RedisOpenSeconds), time, logger);
    }

    public string Name => "redis";

    /// <summary>Whether lookups go to Redis now.</summary>
    public CircuitBreaker Breaker { get; }

    public async ValueTask<CachedPrediction?> GetAsync(UInt128 key, CancellationToken cancellationToken)
    {
        if (!Breaker.TryEnter())
        {
            return null;
        }

        Task<RedisValue>? lookup = null;
        try
        {
            lookup = _redis.GetDatabase().StringGetAsync(Key(key));
            var value = await lookup.WaitAsync(_budget, _time, cancellationToken).ConfigureAwait(false);
            Breaker.Succeeded();
            return value.IsNull ? null : CachedPrediction.Deserialize((ReadOnlyMemory<byte>)value);
        }
        catch (TimeoutException)
        {
            Breaker.Failed($"a lookup took longer than {_budget.TotalMilliseconds} ms");
            Observe(lookup);
            return null;
        }
        catch (RedisException ex)
        {
            Breaker.Failed(ex.Message);
            return null;
        }
    }

    public void Set(UInt128 key, CachedPrediction prediction, TimeSpan timeToLive)
    {
        if (Breaker.State != CircuitState.Closed)
        {
            return;
        }

        try
        {
            _redis.GetDatabase().StringSet(Key(key), prediction.Serialize(), timeToLive, flags: CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
            // Fire and forget: a write lost while Redis is away only costs a later miss.
        }
    }

    public void Dispose() => _redis.Dispose();

    private static byte[] Key(UInt128 key)
    {
        var bytes = new byte[Prefix.Length + 16];
        Prefix.CopyTo(bytes, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128LittleEndian(bytes.AsSpan(Prefix.Length), key);
        return bytes;
    }

    // A lookup abandoned at its budget still completes; observe its outcome so a late fault is not unobserved.
    private static void Observe(Task? lookup) =>
        lookup?.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
