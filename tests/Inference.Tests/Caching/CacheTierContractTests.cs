using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Common;
using ServingGateway.Inference.Tensors;
using ServingGateway.TestSupport;
using StackExchange.Redis;
using Xunit.Abstractions;

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
        _tier = new MemoryCacheTier(1024 * 1024, 1_000_000, _time);
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
        using var tier = new MemoryCacheTier(1024 * 1024, 1_000_000, _time);
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
    [Fact]
    public void Set_OneEntry_SizeIsItsFootprintPlusTheMeasuredOverhead()
    {
        using var tier = new MemoryCacheTier(1024 * 1024, 1_000_000, _time);
        var prediction = Prediction(3);

        tier.Set(7, prediction, TimeSpan.FromMinutes(5));

        Assert.InRange(MemoryCacheTier.EntryOverhead, 64, 4096);
        Assert.True(prediction.Footprint > prediction.Size + 100, $"footprint {prediction.Footprint} for {prediction.Size} data bytes");
        Assert.Equal(MemoryCacheTier.EntryOverhead + prediction.Footprint, tier.Size);
    }

    [Fact]
    public void Set_MaxEntriesReached_StoresNoMore()
    {
        using var tier = new MemoryCacheTier(1024 * 1024, 100, _time);
        var largest = 0;
        for (var i = 0; i < 1000; i++)
        {
            tier.Set((UInt128)i, Prediction(i), TimeSpan.FromMinutes(5));
            tier.SetResponse((UInt128)i, new CachedResponse([1, 2, 3], null), TimeSpan.FromMinutes(5));
            largest = Math.Max(largest, tier.Count);
        }

        Assert.Equal(100, largest);
    }
}

/// <summary>The in-process tier's real memory, measured with the garbage collector: alone, so no other test allocates meanwhile.</summary>
[Collection(RunsAloneCollection.Name)]
public sealed class MemoryCacheTierMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void Set_ManySmallEntries_RetainedMemoryStaysWithinTheLimit()
    {
        const long Limit = 8 * 1024 * 1024;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        using var tier = new MemoryCacheTier(Limit, 100_000_000, new FakeTimeProvider());
        for (var i = 0; i < 300_000; i++)
        {
            using var tensor = PooledTensor.Rent("y", TensorDataType.Fp32, [1, 4], 4, 16);
            tensor.Span.Fill((byte)i);
            tier.Set((UInt128)i, CachedPrediction.From([tensor]), TimeSpan.FromMinutes(5));
        }

        var retained = GC.GetTotalMemory(forceFullCollection: true) - before;
        output.WriteLine($"{retained / 1024} KiB retained for a limit of {Limit / 1024} KiB: {tier.Count} entries, {tier.Size} bytes counted, overhead {MemoryCacheTier.EntryOverhead} bytes per entry");

        Assert.True(tier.Count > 10_000, $"only {tier.Count} entries stored");
        Assert.True(retained <= Limit * 5 / 4, $"{retained / 1024} KiB retained for a limit of {Limit / 1024} KiB ({tier.Count} entries)");
        GC.KeepAlive(tier);
    }
}

public sealed class RedisCacheTierTests : CacheTierContractTests, IDisposable
{
    private readonly RedisServer _redis = new();
    private readonly NodeMetrics _metrics = new();
    private readonly RedisCacheTier _tier;

    public RedisCacheTierTests()
    {
        _tier = new RedisCacheTier(new CacheOptions { Redis = _redis.Endpoint, RedisReadBudgetMs = 1000, RedisSecret = Secret }, TimeProvider.System, NullLogger.Instance, _metrics);
    }

    private const string Secret = "a-test-secret-of-32-characters!!";

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
        var keys = server.Keys(pattern: RedisCacheTier.KeyPrefix + "*").ToList();
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

    private async Task<(IDatabase Db, RedisKey Key)> OnlyEntryAsync(UInt128 key)
    {
        _tier.Set(key, Prediction(2.5f), TimeSpan.FromMinutes(1));
        Assert.NotNull(await EventuallyAsync(key));
        var client = await ConnectionMultiplexer.ConnectAsync(_redis.Endpoint);
        var stored = Assert.Single(client.GetServer(_redis.Endpoint).Keys(pattern: RedisCacheTier.KeyPrefix + "*"));
        return (client.GetDatabase(), stored);
    }

    private async Task<string> RejectedAsync(string reason)
    {
        using var text = new MemoryStream();
        await _metrics.Registry.CollectAndExportAsTextAsync(text);
        var line = System.Text.Encoding.UTF8.GetString(text.ToArray()).Split('\n').Single(l => l.StartsWith($"sg_cache_rejected_total{{reason=\"{reason}\"}}", StringComparison.Ordinal));
        return line.Split(' ')[1];
    }

    [Fact]
    public async Task Get_ValueTampered_IsMissCountedAsMac()
    {
        var (db, stored) = await OnlyEntryAsync(11);
        var value = (byte[])(await db.StringGetAsync(stored))!;
        value[^1] ^= 0x40; // one bit of the output's data
        await db.StringSetAsync(stored, value);

        Assert.Null(await _tier.GetAsync(11, CancellationToken.None));
        Assert.Equal("1", await RejectedAsync(NodeMetrics.RejectedMac));
        Assert.Equal("0", await RejectedAsync(NodeMetrics.RejectedParse));
    }

    [Fact]
    public async Task Get_ValueSignedWithAnotherSecret_IsMissCountedAsMac()
    {
        var (db, stored) = await OnlyEntryAsync(12);
        using var other = new RedisCacheTier(new CacheOptions { Redis = _redis.Endpoint, RedisSecret = "another-secret-of-32-characters!" }, TimeProvider.System, NullLogger.Instance, new NodeMetrics());
        await db.StringSetAsync(stored, other.Seal(stored!, Prediction(9f).Serialize()));

        Assert.Null(await _tier.GetAsync(12, CancellationToken.None));
        Assert.Equal("1", await RejectedAsync(NodeMetrics.RejectedMac));
    }

    [Theory]
    [InlineData(new byte[] { 1, 1, 0, 1, (byte)'y', 1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f })]
    [InlineData(new byte[] { 1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f })]
    [InlineData(new byte[] { 7 })]
    [InlineData(new byte[0])]
    public async Task Get_SignedButUnparseable_IsMissCountedAsParse(byte[] payload)
    {
        var (db, stored) = await OnlyEntryAsync(13);
        await db.StringSetAsync(stored, _tier.Seal(stored!, payload));

        Assert.Null(await _tier.GetAsync(13, CancellationToken.None));
        Assert.Equal("1", await RejectedAsync(NodeMetrics.RejectedParse));
        Assert.Equal("0", await RejectedAsync(NodeMetrics.RejectedMac));
    }

    [Fact]
    public async Task Get_ShorterThanAMac_IsMissCountedAsMac()
    {
        var (db, stored) = await OnlyEntryAsync(14);
        await db.StringSetAsync(stored, new byte[] { 1, 2, 3 });

        Assert.Null(await _tier.GetAsync(14, CancellationToken.None));
        Assert.Equal("1", await RejectedAsync(NodeMetrics.RejectedMac));
    }

    [Fact]
    public void RedisKey_KeyedBySecret_NotThePredictionKey()
    {
        using var other = new RedisCacheTier(new CacheOptions { Redis = _redis.Endpoint, RedisSecret = "another-secret-of-32-characters!" }, TimeProvider.System, NullLogger.Instance, new NodeMetrics());
        UInt128 key = 0x0102030405060708;
        var raw = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128LittleEndian(raw, key);

        var mine = _tier.RedisKey(key);
        var theirs = other.RedisKey(key);

        Assert.Equal(_tier.RedisKey(key), mine);
        Assert.NotEqual(mine, theirs);
        Assert.NotEqual(raw, mine[RedisCacheTier.KeyPrefix.Length..]);
        Assert.NotEqual(raw, theirs[RedisCacheTier.KeyPrefix.Length..]);
    }

    [Fact]
    public async Task Get_ProbeCancelledMidFlight_NextLookupProbesRedisWithinTheOpenPeriod()
    {
        var time = new FakeTimeProvider();
        using var tier = new RedisCacheTier(new CacheOptions { Redis = _redis.Endpoint, RedisReadBudgetMs = 1000, RedisFailuresToOpen = 1, RedisOpenSeconds = 2 }, time, NullLogger.Instance, new NodeMetrics());
        await WaitConnectedAsync(tier, true);
        _redis.Kill();
        await WaitConnectedAsync(tier, false);
        Assert.Null(await tier.GetAsync(1, CancellationToken.None));
        Assert.Equal(CircuitState.Open, tier.Breaker.State);

        _redis.Start();
        await WaitConnectedAsync(tier, true);
        time.Advance(TimeSpan.FromSeconds(2));
        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => tier.GetAsync(2, cancelled.Token).AsTask());
        }

        Assert.Null(await tier.GetAsync(3, CancellationToken.None)); // no time has passed: the next call is the probe

        Assert.Equal(CircuitState.Closed, tier.Breaker.State);
    }

    // Waits, bounded, until the tier's own connection is (or is no longer) up: a reconnect takes real time.
    private static async Task WaitConnectedAsync(RedisCacheTier tier, bool connected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (tier.IsConnected != connected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the tier's connection did not become {(connected ? "connected" : "disconnected")}");
            await Task.Delay(20);
        }
    }
}
