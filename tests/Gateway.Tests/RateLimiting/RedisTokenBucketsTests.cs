using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.RateLimiting;
using ServingGateway.TestSupport;
using StackExchange.Redis;

namespace ServingGateway.Gateway.Tests.RateLimiting;

/// <summary>
/// The Lua token bucket against a real redis-server: exact counts, the state and TTL it leaves, refill from
/// Redis's own clock (moved by rewriting the bucket's timestamp, not by waiting), one bucket for two edges,
/// and the timeout on a Redis that is slow.
/// </summary>
public sealed class RedisTokenBucketsTests : IDisposable
{
    private const string Key = "sg:rl:k";
    private readonly RedisServer _redis = new();
    private readonly ConnectionMultiplexer _connection;
    private readonly RedisTokenBuckets _buckets;

    public RedisTokenBucketsTests()
    {
        _connection = ConnectionMultiplexer.Connect(_redis.Endpoint);
        _buckets = new RedisTokenBuckets(_connection, TimeSpan.FromSeconds(30), TimeProvider.System);
    }

    private IDatabase Db => _connection.GetDatabase();

    public void Dispose()
    {
        _connection.Dispose();
        _redis.Dispose();
    }

    private async Task<RateLimitDecision> TakeAsync(double rate, int burst, RedisTokenBuckets? store = null) =>
        await (store ?? _buckets).TakeAsync("k", new RateLimitRule { Rate = rate, Burst = burst }, CancellationToken.None);

    [Fact]
    public async Task Take_BurstThenRefused_ExactCountsAndWait()
    {
        // One token every 1000 s: what refills while the test runs is a few thousandths at most.
        var decisions = new List<RateLimitDecision>();
        for (var i = 0; i < 5; i++)
        {
            decisions.Add(await TakeAsync(0.001, 3));
        }

        Assert.Equal([true, true, true, false, false], decisions.Select(d => d.Allowed));
        Assert.Equal([2, 1, 0, 0, 0], decisions.Select(d => d.Remaining));
        Assert.All(decisions, d => Assert.Equal(3, d.Limit));
        Assert.InRange(decisions[4].RetryAfter.TotalSeconds, 990, 1000);
        Assert.InRange(decisions[4].Reset.TotalSeconds, 2990, 3000);
    }

    [Theory]
    [InlineData(0.001, 3, 1)] // 1000 s to refill one token, plus a second
    [InlineData(0.001, 3, 2)] // 2000 s, plus a second
    [InlineData(1000, 1, 1)] // 1 ms, plus a second
    public async Task Take_KeyExpiresASecondAfterTheBucketWouldBeFull(double rate, int burst, int takes)
    {
        for (var i = 0; i < takes; i++)
        {
            await TakeAsync(rate, burst);
        }

        var (tokens, expiry) = await StateAsync();

        // The expiry the script set, from the tokens it left: (burst - tokens) / rate, plus a second.
        var expected = Math.Ceiling((burst - tokens) * 1000 / rate) + 1000;
        Assert.InRange(tokens, burst - takes, burst - takes + 0.01);
        Assert.InRange(expiry, expected - 2, expected + 1);
    }

    [Fact]
    public async Task Take_TimePassedInRedis_RefillsAtTheRateUpToTheBurst()
    {
        // 0.01 tokens a second: the bucket is rewritten as 250 s old (2.5 tokens) or 40 s old (0.4 tokens) by Redis's
        // clock, and the time a loaded machine takes before the next take (Redis's clock runs on) moves the tokens by
        // a hundredth a second, not by one (at 1 token a second, half a second of delay made 2.5 tokens 3).
        await TakeAsync(0.01, 5);
        await SetStateAsync(tokens: 0, age: TimeSpan.FromSeconds(250));
        var refilled = await TakeAsync(0.01, 5);
        await SetStateAsync(tokens: 0, age: TimeSpan.FromSeconds(40));
        var notYet = await TakeAsync(0.01, 5);
        await SetStateAsync(tokens: 1, age: TimeSpan.FromDays(1));
        var capped = await TakeAsync(0.01, 5);

        Assert.True(refilled.Allowed); // 2.5 tokens, one taken
        Assert.Equal(1, refilled.Remaining);
        Assert.False(notYet.Allowed); // 0.4 tokens: the next one in 60 s
        Assert.InRange(notYet.RetryAfter.TotalMilliseconds, 1, 60_000);
        Assert.True(capped.Allowed);
        Assert.Equal(4, capped.Remaining); // never more than the burst
    }

    [Fact]
    public async Task Take_TwoEdges_ShareOneBucket()
    {
        using var otherConnection = await ConnectionMultiplexer.ConnectAsync(_redis.Endpoint);
        var other = new RedisTokenBuckets(otherConnection, TimeSpan.FromSeconds(30), TimeProvider.System);
        var allowed = new List<bool>();
        for (var i = 0; i < 6; i++)
        {
            allowed.Add((await TakeAsync(0.001, 4, i % 2 == 0 ? _buckets : other)).Allowed);
        }

        Assert.Equal([true, true, true, true, false, false], allowed);
    }

    [Fact]
    public async Task Take_RedisSlowerThanTheTimeout_ThrowsTimeout()
    {
        using var proxy = new HoldingTcpProxy(_redis.Port);
        using var connection = await ConnectionMultiplexer.ConnectAsync(proxy.Endpoint);
        var time = new FakeTimeProvider();
        var slow = new RedisTokenBuckets(connection, TimeSpan.FromMilliseconds(250), time);
        Assert.True((await TakeAsync(1, 5, slow)).Allowed);

        proxy.Hold();
        var take = TakeAsync(1, 5, slow);
        Assert.False(take.IsCompleted, "the decision waits for Redis's reply");
        time.Advance(TimeSpan.FromMilliseconds(250));
        proxy.Release();

        await Assert.ThrowsAsync<TimeoutException>(() => take);
    }

    // The bucket's tokens, and the expiry (ms) the script gave its key when it wrote them: the key's absolute expiry
    // (PEXPIRETIME) less the time the script wrote ("at"), both by Redis's clock and neither depending on when this
    // reads them (a TTL read later shrinks with the time a loaded machine takes in between).
    private async Task<(double Tokens, double ExpiryMs)> StateAsync()
    {
        var transaction = Db.CreateTransaction();
        var expireAt = transaction.ExecuteAsync("PEXPIRETIME", Key);
        var state = transaction.HashGetAsync(Key, ["tokens", "at"]);
        Assert.True(await transaction.ExecuteAsync());
        var values = await state;
        var at = double.Parse((string)values[1]!, CultureInfo.InvariantCulture);
        return (double.Parse((string)values[0]!, CultureInfo.InvariantCulture), (long)(await expireAt) - at);
    }

    // Rewrites the bucket as if its last refill had been `age` ago by Redis's clock, with `tokens` left then.
    private async Task SetStateAsync(double tokens, TimeSpan age)
    {
        var now = await _connection.GetServer(_redis.Endpoint).TimeAsync();
        var nowMs = (now - DateTime.UnixEpoch).TotalMilliseconds;
        await Db.HashSetAsync(Key, [
            new HashEntry("tokens", tokens.ToString(CultureInfo.InvariantCulture)),
            new HashEntry("at", (nowMs - age.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)),
        ]);
    }
}
