using Microsoft.Extensions.Time.Testing;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Common;
using ServingGateway.Inference.Tests.Catalog;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Caching;

/// <summary>
/// Cache:RedisReadBudgetMs against a Redis that is slow, not dead: a proxy holds its replies while the fake
/// clock passes the budget, so the lookup must give up at the budget although Redis has the entry and
/// answers a moment later.
/// </summary>
/// <remarks>
/// Runs alone: twice in clean-clone CI runs (1 in about 12) the tier's connection through the proxy was not up within
/// 60 s while the rest of the assembly loaded models in parallel, though it comes up in a second on a machine
/// six busy loops load; the client's handshake has one-second timeouts and every hop through the proxy waits for
/// the thread pool. The failure message now says what the warm-up saw last (connected, circuit, the breaker's log).
/// </remarks>
[Collection(RunsAloneCollection.Name)]
public sealed class RedisReadBudgetTests : IDisposable
{
    private static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan OpenFor = TimeSpan.FromSeconds(5);
    private readonly RedisServer _redis = new();
    private readonly HoldingTcpProxy _proxy;
    private readonly FakeTimeProvider _time = new();
    private readonly ListLogger _log = new();
    private readonly RedisCacheTier _tier;

    public RedisReadBudgetTests()
    {
        _proxy = new HoldingTcpProxy(_redis.Port);
        _tier = new RedisCacheTier(
            new CacheOptions { Redis = _proxy.Endpoint, RedisReadBudgetMs = Budget.TotalMilliseconds, RedisFailuresToOpen = 2, RedisOpenSeconds = OpenFor.TotalSeconds },
            _time,
            _log,
            new NodeMetrics());
    }

    public void Dispose()
    {
        _tier.Dispose();
        _proxy.Dispose();
        _redis.Dispose();
    }

    [Fact]
    public async Task Get_RedisSlowerThanTheBudget_MissesAtTheBudgetThenOpensAndRecovers()
    {
        // The entry is in Redis, and Redis answers in time: a hit. On a loaded machine the first attempts may fail
        // while the connection through the proxy comes up, and two failures open the circuit, which this test's
        // frozen clock would keep open for good: then let the open period pass so the next attempt is a probe.
        var attempts = 0;
        await Poll.UntilAsync(() => _tier.IsConnected, "the tier's connection to Redis through the proxy");
        await Poll.UntilAsync(
            async () =>
            {
                if (_tier.Breaker.State == CircuitState.Open)
                {
                    _time.Advance(OpenFor);
                }

                attempts++;
                _tier.Set(1, CacheTierContractTests.Prediction(7f), TimeSpan.FromMinutes(5));
                return await _tier.GetAsync(1, CancellationToken.None) is not null;
            },
            () => $"the tier to store and find an entry through the proxy (attempts {attempts}, connected {_tier.IsConnected}, circuit {_tier.Breaker.State}, last log lines: {string.Join(" | ", _log.Entries.TakeLast(3).Select(e => e.Text))})");
        Assert.Equal(CircuitState.Closed, _tier.Breaker.State);

        // Redis is slow: its reply comes after the budget has passed. A miss, though the entry is there.
        var first = await SlowLookupAsync();
        Assert.Equal(CircuitState.Closed, _tier.Breaker.State);
        var second = await SlowLookupAsync();

        Assert.Null(first);
        Assert.Null(second);
        Assert.Equal(CircuitState.Open, _tier.Breaker.State); // two overruns in a row

        // While open, lookups do not wait on Redis at all; once the open period is over, a probe finds it fast again.
        _proxy.Hold();
        var whileOpen = _tier.GetAsync(1, CancellationToken.None);
        Assert.True(whileOpen.IsCompletedSuccessfully, "a lookup while the circuit is open does not ask Redis");
        Assert.Null(await whileOpen);
        _proxy.Release();
        _time.Advance(OpenFor);
        var probe = await _tier.GetAsync(1, CancellationToken.None);

        Assert.NotNull(probe);
        Assert.Equal(CircuitState.Closed, _tier.Breaker.State);
    }

    // A lookup while the proxy holds Redis's reply: the budget passes on the fake clock, then the reply goes on.
    private async Task<CachedPrediction?> SlowLookupAsync()
    {
        _proxy.Hold();
        var lookup = _tier.GetAsync(1, CancellationToken.None).AsTask();
        Assert.False(lookup.IsCompleted, "the lookup waits for Redis's reply");
        _time.Advance(Budget);
        _proxy.Release();
        return await lookup;
    }
}
