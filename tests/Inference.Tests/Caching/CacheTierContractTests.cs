using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Tensors;
using ServingGateway.TestSupport;
using StackExchange.Redis;

namespace ServingGateway.Inference.Tests.Caching;

/// <summary>What every cache tier promises; each tier runs these against its real store.</summary>
public abstract class CacheTierContractTests
{
    private protected abstract IPredictionCacheTier Tier { get; }

    internal static CachedPrediction Prediction(float value)
    {
        using var tensor = PooledTensor.Rent("y", TensorDataType.Fp32, [1, 1], 1, 4);
        BitConverter.GetBytes(value).CopyTo(tensor.Span);
        return CachedPrediction.From([tensor]);
    }

    // Tiers store asynchronously (Redis: fire and forget): wait, bounded, until the entry shows.
    private protected async Task<CachedPrediction?> EventuallyAsync(UInt128 key)
    {
        for (var i = 0; i < 500; i++)
        {
            if (await Tier.GetAsync(key, CancellationToken.None) is { } found)
            {
                return found;
            }

            await Task.Yield();
        }

        return null;
    }

    [Fact]
    public async Task Get_NeverSet_IsMiss()
    {
        Assert.Null(await Tier.GetAsync(UInt128.MaxValue - 7, CancellationToken.None));
    }

    [Fact]
    public async Task Set_ThenGet_ReturnsTheSameOutputs()
    {
        UInt128 key = (UInt128)Random.Shared.NextInt64() << 64;

        Tier.Set(key, Prediction(4.5f), TimeSpan.FromMinutes(1));

        var found = await EventuallyAsync(key);
        Assert.NotNull(found);
        Assert.Equal(BitConverter.GetBytes(4.5f), found.Outputs[0].Data);
        Assert.Equal([1L, 1L], found.Outputs[0].Shape);
    }

    [Fact]
    public async Task Set_TimeToLivePasses_Expires()
    {
        UInt128 key = (UInt128)Random.Shared.NextInt64() << 32;
        Tier.Set(key, Prediction(1), TimeSpan.FromSeconds(30));
        Assert.NotNull(await EventuallyAsync(key));

        await AssertExpiresAsync(key, TimeSpan.FromSeconds(30));
    }

    /// <summary>Shows that the entry set with <paramref name="timeToLive"/> expires then.</summary>
    private protected abstract Task AssertExpiresAsync(UInt128 key, TimeSpan timeToLive);
}

public sealed class MemoryCacheTierTests : CacheTierContractTests, IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly MemoryCacheTier _tier;

    public MemoryCacheTierTests()
    {
        _tier = new MemoryCacheTier(1024 * 1024, _time);
    }

    private protected override IPredictionCacheTier Tier => _tier;

    public void Dispose() => _tier.Dispose();

    private protected override async Task AssertExpiresAsync(UInt128 key, TimeSpan timeToLive)
    {
        _time.Advance(timeToLive - TimeSpan.FromSeconds(1));
        Assert.NotNull(await Tier.GetAsync(key, CancellationToken.None));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await Tier.GetAsync(key, CancellationToken.None));
    }

    [Fact]
    public void Set_HundredThousandDistinctKeys_StoredBytesStayUnderTheLimit()
    {
        using var tier = new MemoryCacheTier(1024 * 1024, _time);
        var largest = 0L;
        for (var i = 0; i < 100_000; i++)
        {
            using var tensor = PooledTensor.Rent("y", TensorDataType.Fp32, [1, 64], 64, 256);
            tensor.Span.Fill((byte)i);
            tier.Set((UInt128)i, CachedPrediction.From([tensor]), TimeSpan.FromMinutes(5));
            if (i % 1000 == 0)
            {
                largest = Math.Max(largest, tier.Size);
            }
        }

        Assert.True(largest <= tier.SizeLimit, $"{largest} bytes stored, limit {tier.SizeLimit}");
        Assert.True(tier.Size <= tier.SizeLimit);
        Assert.True(tier.Size > tier.SizeLimit / 2, "the cache should still be in use");
    }
}

public sealed class RedisCacheTierTests : CacheTierContractTests, IDisposable
{
    private readonly RedisServer _redis = new();
    private readonly RedisCacheTier _tier;

    public RedisCacheTierTests()
    {
        _tier = new RedisCacheTier(new CacheOptions { Redis = _redis.Endpoint, RedisReadBudgetMs = 1000 }, TimeProvider.System, NullLogger.Instance);
    }

    private protected override IPredictionCacheTier Tier => _tier;

    public void Dispose()
    {
        _tier.Dispose();
        _redis.Dispose();
    }

    private protected override async Task AssertExpiresAsync(UInt128 key, TimeSpan timeToLive)
    {
        // Redis keeps time itself: check the TTL it holds instead of waiting 30 s.
        await using var client = await ConnectionMultiplexer.ConnectAsync(_redis.Endpoint);
        var server = client.GetServer(_redis.Endpoint);
        var keys = server.Keys(pattern: "sg:c1:*").ToList();
        Assert.NotEmpty(keys);
        foreach (var redisKey in keys)
        {
            var ttl = await client.GetDatabase().KeyTimeToLiveAsync(redisKey);
            Assert.NotNull(ttl);
            Assert.InRange(ttl.Value, TimeSpan.FromSeconds(1), timeToLive);
        }
    }

    [Fact]
    public async Task Get_RedisDown_MissesWithinBudgetAndOpensTheCircuit()
    {
        _redis.Kill();
        for (var i = 0; i < 10; i++)
        {
            Assert.Null(await Tier.GetAsync((UInt128)i, CancellationToken.None));
        }

        Assert.Equal(CircuitState.Open, _tier.Breaker.State);
        _tier.Set(1, Prediction(1), TimeSpan.FromMinutes(1)); // a no-op while open, never an exception
    }
}
