using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Auth;
using ServingGateway.Deployments;
using ServingGateway.Deployments.Rollouts;
using ServingGateway.Edge;
using ServingGateway.TestSupport;
using StackExchange.Redis;

namespace ServingGateway.Gateway.Tests.Deployments.Rollouts;

/// <summary>
/// Rollouts shared by several edges through a real redis-server (issue 13, item 4): the lease makes exactly one
/// process drive, its saves are fenced by it, followers apply the stored split, and a follower that takes the lease
/// over resumes the running rollout. Expiry is made to happen (PEXPIRE 1 ms), not waited for.
/// </summary>
public sealed class SharedRolloutsTests : IDisposable
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);
    private readonly RedisServer _redis = new();
    private readonly ConnectionMultiplexer _connection;
    private readonly string _folder = Directory.CreateTempSubdirectory("sg-shared-rollouts-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 6, 0, 0, TimeSpan.Zero));
    private readonly FakeRolloutEvidence _evidence = new();
    private readonly FakeVersionFleet _fleet = new();
    private readonly List<IDisposable> _owned = [];

    public SharedRolloutsTests()
    {
        _connection = ConnectionMultiplexer.Connect(_redis.Endpoint);
    }

    private IDatabase Db => _connection.GetDatabase();

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        _connection.Dispose();
        _redis.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private RedisRolloutLease Lease(string url) => new(_connection, _redis.Endpoint, () => url, Ttl, NullLogger.Instance);

    private RolloutDriver Driver(string url, ITrafficSplits splits)
    {
        var services = new ServiceCollection().AddSingleton<EdgeMetrics>().BuildServiceProvider();
        var audit = new AuditLog(Options.Create(new AuditOptions { Path = Path.Combine(_folder, $"audit-{_owned.Count}.log") }), _time, new AuthMetrics(services), NullLogger<AuditLog>.Instance);
        var lease = Lease(url);
        var driver = new RolloutDriver(splits, _evidence, _fleet, new RedisRolloutStore(_connection, _redis.Endpoint, lease), lease, audit, new RolloutMetrics(Prometheus.Metrics.NewCustomRegistry(), splits),
            Options.Create(new RolloutOptions { UnloadGraceMilliseconds = 0 }), _time, NullLogger<RolloutDriver>.Instance);
        _owned.Add(audit);
        _owned.Add(driver);
        return driver;
    }

    private static RolloutSpec Canary => new(2, RolloutStrategy.Canary, [10, 50, 100], 30, new RolloutAnalysis(0.01, null, 2, 5, null), 0.1);

    // The lease expires now, as if its holder had stopped renewing it.
    private async Task ExpireAsync()
    {
        Assert.True(Db.KeyExpire(RedisRolloutLease.Key, TimeSpan.FromMilliseconds(1)));
        await Poll.UntilAsync(() => !Db.KeyExists(RedisRolloutLease.Key), "the lease to expire");
    }

    [Fact]
    public void TryHold_TwoProcesses_ExactlyOneHoldsRenewsAndNamesItsUrl()
    {
        var a = Lease("http://edge-a:8000");
        var b = Lease("http://edge-b:8000");

        Assert.True(a.TryHold());
        Assert.False(b.TryHold());
        Assert.True(a.TryHold()); // renewed
        Assert.Equal("http://edge-a:8000", b.HolderUrl());
        var ttl = Db.KeyTimeToLive(RedisRolloutLease.Key);
        Assert.InRange(ttl!.Value, Ttl - TimeSpan.FromSeconds(5), Ttl);
    }

    [Fact]
    public async Task TryHold_HolderStopsRenewing_AnotherTakesItAtExpiryAndTheOldOneCannotRenew()
    {
        var a = Lease("http://edge-a:8000");
        var b = Lease("http://edge-b:8000");
        Assert.True(a.TryHold());

        await ExpireAsync();

        Assert.True(b.TryHold());
        Assert.False(a.TryHold());
        Assert.Equal("http://edge-b:8000", a.HolderUrl());
    }

    [Fact]
    public void Release_ByTheHolder_FreesItAtOnce_ByAnotherChangesNothing()
    {
        var a = Lease("http://edge-a:8000");
        var b = Lease("http://edge-b:8000");
        Assert.True(a.TryHold());

        b.Release();
        Assert.Equal("http://edge-a:8000", b.HolderUrl());
        a.Release();

        Assert.Null(b.HolderUrl());
        Assert.True(b.TryHold());
    }

    [Fact]
    public void TryHold_NoUrlYet_DoesNotTakeIt()
    {
        var early = new RedisRolloutLease(_connection, _redis.Endpoint, () => null, Ttl, NullLogger.Instance);

        Assert.False(early.TryHold());
        Assert.False(Db.KeyExists(RedisRolloutLease.Key));
    }

    [Fact]
    public void Save_WithoutTheLease_RefusedAndNothingWritten()
    {
        var a = Lease("http://edge-a:8000");
        var b = Lease("http://edge-b:8000");
        Assert.True(a.TryHold());
        Assert.False(b.TryHold());
        var splits = new Dictionary<string, TrafficSplit> { ["mlp"] = TrafficSplit.All(1) };

        new RedisRolloutStore(_connection, _redis.Endpoint, a).Save(splits, []);
        var revision = new RedisRolloutStore(_connection, _redis.Endpoint, a).Revision();
        Assert.Throws<RolloutLeaseLostException>(() => new RedisRolloutStore(_connection, _redis.Endpoint, b).Save(new Dictionary<string, TrafficSplit>(), []));

        Assert.Equal(1, revision);
        Assert.Equal(1, new RedisRolloutStore(_connection, _redis.Endpoint, b).Revision());
        Assert.Equal(TrafficSplit.All(1).Shares, new RedisRolloutStore(_connection, _redis.Endpoint, b).Load().Splits["mlp"].Shares);
    }

    [Fact]
    public void Load_NotAStateDocument_InvalidDataWithTheKey()
    {
        Db.StringSet(RedisRolloutStore.StateKey, Encoding.UTF8.GetBytes("{\"splits\": 3}"));

        var ex = Assert.Throws<InvalidDataException>(() => new RedisRolloutStore(_connection, _redis.Endpoint, Lease("http://a")).Load());

        Assert.Contains(RedisRolloutStore.StateKey, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoEdges_FollowerAppliesEachSplit_TakesOverAtExpiryAndResumes_OldDriverStops()
    {
        var splitsA = new FakeTrafficSplits();
        var splitsB = new FakeTrafficSplits();
        var a = Driver("http://edge-a:8000", splitsA);
        var b = Driver("http://edge-b:8000", splitsB);
        Assert.True(a.Lead());
        Assert.False(b.Lead());

        // b cannot start one (the endpoint forwards to a); a starts it and moves to the first step.
        Assert.Equal(503, (await Assert.ThrowsAsync<DeploymentException>(() => b.StartAsync("mlp", Canary, "ci", CancellationToken.None))).StatusCode);
        await a.StartAsync("mlp", Canary, "ci", CancellationToken.None);
        await a.FleetIdleAsync();
        a.Tick();
        Assert.Equal([new VersionShare(1, 90), new VersionShare(2, 10)], splitsA.Get("mlp")!.Shares);

        // The follower applies what is stored, at its next look.
        Assert.Null(splitsB.Get("mlp"));
        b.Follow();
        Assert.Equal([new VersionShare(1, 90), new VersionShare(2, 10)], splitsB.Get("mlp")!.Shares);

        // a stops renewing: at the expiry b takes over, reads the state and resumes the rollout (loading again).
        await ExpireAsync();
        Assert.True(b.Lead());
        Assert.True(b.IsDriving);
        var (resumed, _, _) = b.Current("mlp")!.Value;
        Assert.Equal(RolloutState.Loading, resumed.State);
        Assert.Equal("resume_after_restart", resumed.Decisions[^1].Action);
        Assert.Equal([new VersionShare(1, 90), new VersionShare(2, 10)], splitsB.Get("mlp")!.Shares);

        // a comes back from a stall and means to move to 50%: its save is refused, so it carries nothing out (the split
        // here stays, nothing is served, nothing audited) and stops driving; then it follows b.
        _evidence.Set("mlp", 2, new VersionEvidence(50, 0, 5, 10, 0, double.NaN));
        _evidence.Set("mlp", 1, new VersionEvidence(50, 0, 5, 10, 0, double.NaN));
        var served = _fleet.Served.Count;
        _time.Advance(TimeSpan.FromSeconds(30));
        a.Tick();
        Assert.False(a.IsDriving);
        Assert.Equal([new VersionShare(1, 90), new VersionShare(2, 10)], splitsA.Get("mlp")!.Shares);
        Assert.Equal(served, _fleet.Served.Count);
        Assert.False(a.Lead());
        a.Follow();
        Assert.Equal(RolloutState.Loading, a.Current("mlp")!.Value.Rollout.State);
        Assert.Equal(RolloutState.Loading, new RedisRolloutStore(_connection, _redis.Endpoint, Lease("http://c")).Load().Rollouts.Single().State);
    }

    [Fact]
    public void Restore_RedisAway_StartsWithNoSplitAndDoesNotDrive()
    {
        var splits = new FakeTrafficSplits();
        var driver = Driver("http://edge-a:8000", splits);
        _redis.Kill();

        Assert.Empty(driver.Restore());
        Assert.Empty(splits.All);
        Assert.False(driver.Lead());
    }

    [Fact]
    public async Task StartAsync_LeaseTakenBeforeItsSave_503AndNothingCarriedOut()
    {
        var splitsA = new FakeTrafficSplits();
        var a = Driver("http://edge-a:8000", splitsA);
        Assert.True(a.Lead());

        // a stalls past its lease; b takes it; a, not having looked since, still believes it drives.
        await ExpireAsync();
        Assert.True(Lease("http://edge-b:8000").TryHold());

        var ex = await Assert.ThrowsAsync<DeploymentException>(() => a.StartAsync("mlp", Canary, "ci", CancellationToken.None));

        Assert.Equal(503, ex.StatusCode);
        Assert.False(a.IsDriving);
        Assert.Null(splitsA.Get("mlp"));
        Assert.Empty(_fleet.Served);
        Assert.Empty(new RedisRolloutStore(_connection, _redis.Endpoint, Lease("http://c")).Load().Rollouts);
    }
}
