using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Batching;
using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Residency;
using ServingGateway.Inference.Runtime;
using ServingGateway.Inference.Tensors;
using ServingGateway.Inference.Tests.Protocol;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Residency;

/// <summary>The LRU and single-flight policy of multiplexing, on fake hosts (executors that never run a model).</summary>
public sealed class ModelResidencyTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly NodeMetrics _metrics = new();

    [Fact]
    public void TryLoadNow_Unlimited_LoadsEveryVersion()
    {
        var residency = Create(new InferenceOptions());
        var slots = Enumerable.Range(1, 5).Select(i => Slot($"m{i}")).ToArray();

        Assert.All(slots, s => Assert.True(residency.TryLoadNow(s)));

        Assert.False(residency.Limited);
        Assert.Equal(5, residency.ResidentCount);
        Assert.All(slots, s => Assert.True(s.IsResident));
    }

    [Fact]
    public void TryLoadNow_PastMaxResidentModels_LeavesTheRestNotResident()
    {
        var residency = Create(new InferenceOptions { MaxResidentModels = 2 });
        var slots = Enumerable.Range(1, 3).Select(i => Slot($"m{i}")).ToArray();

        var loaded = slots.Select(s => residency.TryLoadNow(s)).ToArray();

        Assert.Equal([true, true, false], loaded);
        Assert.Equal(2, residency.ResidentCount);
        Assert.False(slots[2].IsResident);
        Assert.Equal(0, slots[2].Loads);
    }

    [Fact]
    public async Task LoadAndAcquireAsync_Full_EvictsTheLeastRecentlyUsedIdleVersion()
    {
        var residency = Create(new InferenceOptions { MaxResidentModels = 2 });
        var (a, b, c) = (Slot("a"), Slot("b"), Slot("c"));
        residency.TryLoadNow(a);
        residency.TryLoadNow(b);
        Use(residency, a); // b is now the least recently used
        var evictedHost = b.Host!;

        var host = await residency.LoadAndAcquireAsync(c, CancellationToken.None);
        host!.Release();

        Assert.True(a.IsResident);
        Assert.False(b.IsResident);
        Assert.True(c.IsResident);
        Assert.True(b.Executor.Disposed);
        Assert.False(evictedHost.TryAcquire());
        Assert.Equal(2, residency.ResidentCount);
    }

    [Fact]
    public async Task LoadAndAcquireAsync_TwoColdModelsInARow_TheHotOneUsedTwiceStaysResident()
    {
        // hot x hot y z: plain LRU evicts hot for z (its last use is older than y's); LRU-2 evicts y, used once.
        var residency = Create(new InferenceOptions { MaxResidentModels = 2 });
        var (hot, x, y, z) = (Slot("hot"), Slot("x"), Slot("y"), Slot("z"));
        residency.TryLoadNow(hot);
        residency.TryLoadNow(x);
        Use(residency, hot);

        (await residency.LoadAndAcquireAsync(y, CancellationToken.None))!.Release(); // evicts x (used once, before hot)
        (await residency.LoadAndAcquireAsync(z, CancellationToken.None))!.Release();

        Assert.True(hot.IsResident);
        Assert.Equal(1, hot.Loads);
        Assert.False(x.IsResident);
        Assert.False(y.IsResident);
        Assert.True(z.IsResident);
    }

    [Fact]
    public async Task LoadAndAcquireAsync_LeastRecentlyUsedBusyPastLruWait_EvictsAnIdleOneInstead()
    {
        var residency = Create(new InferenceOptions { MaxResidentModels = 2 });
        var (a, b, c) = (Slot("a"), Slot("b"), Slot("c"));
        residency.TryLoadNow(a);
        residency.TryLoadNow(b);
        Assert.True(residency.TryAcquire(a, out var inFlight)); // a request on a, not answered yet
        Use(residency, b); // a is the least recently used, but busy

        var loading = residency.LoadAndAcquireAsync(c, CancellationToken.None).AsTask();
        await Poll.UntilAsync(() => residency.RoomWaiters == 1, "the load waits for the least recently used version");
        Assert.True(b.IsResident);

        // A millisecond at a time (FakeClockSteps: the waiter counts itself before it arms its timer): b is kept until
        // the LRU wait for a is over, and evicted then, long before the room wait would refuse the load.
        var waited = await FakeClockSteps.AdvanceUntilAsync(_time, () => loading.IsCompleted, "the load after the LRU wait");
        Assert.InRange(waited, ModelResidency.LruWait, ModelResidency.RoomWait - TimeSpan.FromMilliseconds(1));
        var host = await loading;
        host!.Release();

        Assert.True(a.IsResident);
        Assert.False(a.Executor.Disposed);
        Assert.False(b.IsResident);
        Assert.True(c.IsResident);
        inFlight.Release();
    }

    [Fact]
    public async Task LoadAndAcquireAsync_LeastRecentlyUsedBusyThenIdle_EvictedRatherThanAMoreRecentOne()
    {
        var residency = Create(new InferenceOptions { MaxResidentModels = 2 });
        var (cold, hot, next) = (Slot("cold"), Slot("hot"), Slot("next"));
        residency.TryLoadNow(cold);
        residency.TryLoadNow(hot);
        Assert.True(residency.TryAcquire(cold, out var coldRequest)); // the cold model still answers its request
        Use(residency, hot); // then the hot one is used: cold is the least recently used

        var loading = residency.LoadAndAcquireAsync(next, CancellationToken.None).AsTask();
        await Poll.UntilAsync(() => residency.RoomWaiters == 1, "the load waits for the least recently used version");
        Assert.True(hot.IsResident); // idle, but used after cold: not evicted for next
        coldRequest.Release(); // within LruWait (the fake clock did not move)

        var host = await Poll.DoneAsync(loading, "the load once cold is idle");
        host!.Release();
        Assert.False(cold.IsResident);
        Assert.True(hot.IsResident);
        Assert.Equal(1, hot.Loads); // loaded once, at the start
        Assert.True(next.IsResident);
    }

    [Fact]
    public async Task LoadAndAcquireAsync_EveryResidentVersionBusyForRoomWait_503WithRetryAfterAndNothingEvicted()
    {
        var residency = Create(new InferenceOptions { MaxResidentModels = 2 });
        var (a, b, c) = (Slot("a"), Slot("b"), Slot("c"));
        residency.TryLoadNow(a);
        residency.TryLoadNow(b);
        Assert.True(residency.TryAcquire(a, out var onA));
        Assert.True(residency.TryAcquire(b, out var onB));

        var refused = residency.LoadAndAcquireAsync(c, CancellationToken.None).AsTask();
        await Poll.UntilAsync(() => residency.RoomWaiters == 1, "the load waits for room");

        // A millisecond at a time: the waiter counts itself before it arms its timer, so one large step could land
        // between the two and leave the timer past the test's time (the run hung so once in CI). Refused at RoomWait.
        var waited = await FakeClockSteps.AdvanceUntilAsync(_time, () => refused.IsCompleted, "the load refused for want of room");
        Assert.True(waited >= ModelResidency.RoomWait, $"refused after {waited.TotalMilliseconds} ms, before the {ModelResidency.RoomWait.TotalMilliseconds} ms wait");
        var ex = await Assert.ThrowsAsync<InferenceException>(() => refused);

        Assert.Equal(503, ex.StatusCode);
        Assert.NotNull(ex.RetryAfter);
        Assert.Contains("no room", ex.Message, StringComparison.Ordinal);
        Assert.True(a.IsResident && b.IsResident);
        Assert.False(c.IsResident);
        Assert.Equal(0, c.Loads);
        Assert.Equal(2, residency.ResidentCount);
        onA.Release();
        onB.Release();

        // Once one is idle again, the same request succeeds: the refusal was not remembered.
        var host = await residency.LoadAndAcquireAsync(c, CancellationToken.None);
        host!.Release();
        Assert.True(c.IsResident);
    }

    [Fact]
    public async Task LoadAndAcquireAsync_BusyVersionBecomesIdleWithinRoomWait_LoadsInsteadOfRefusing()
    {
        var residency = Create(new InferenceOptions { MaxResidentModels = 1 });
        var (a, b) = (Slot("a"), Slot("b"));
        residency.TryLoadNow(a);
        Assert.True(residency.TryAcquire(a, out var onA));

        var waiting = residency.LoadAndAcquireAsync(b, CancellationToken.None).AsTask();
        await Poll.UntilAsync(() => residency.RoomWaiters == 1, "the load waits for room");
        Assert.True(a.IsResident); // not evicted under its request
        onA.Release(); // the request on a is answered: a is idle, and evicted for b

        var host = await waiting;
        host!.Release();
        Assert.False(a.IsResident);
        Assert.True(b.IsResident);
        Assert.Equal(1, residency.ResidentCount);
    }

    [Fact]
    public async Task LoadAndAcquireAsync_ConcurrentRequests_OneLoadServesThemAll()
    {
        var residency = Create(new InferenceOptions { MaxResidentModels = 2 });
        var gate = new ManualResetEventSlim();
        var slot = Slot("a", gate);

        var waiters = Enumerable.Range(0, 8).Select(_ => residency.LoadAndAcquireAsync(slot, CancellationToken.None).AsTask()).ToArray();
        Assert.True(SpinWait.SpinUntil(() => slot.Loads == 1, TimeSpan.FromSeconds(30)), "the load did not start");
        Assert.All(waiters, w => Assert.False(w.IsCompleted));
        gate.Set();
        var hosts = await Task.WhenAll(waiters);

        Assert.Equal(1, slot.Loads);
        Assert.All(hosts, h => Assert.Same(slot.Host, h));
        foreach (var host in hosts)
        {
            host!.Release();
        }

        Assert.True(slot.IsResident);
        Assert.Equal(1, residency.ResidentCount);
    }

    [Fact]
    public async Task LoadAndAcquireAsync_LoadFails_EveryWaiterGetsTheErrorAndTheNextRequestLoadsAgain()
    {
        var residency = Create(new InferenceOptions { MaxResidentModels = 2 });
        var gate = new ManualResetEventSlim();
        var slot = Slot("a", gate, failures: 1);

        var waiters = Enumerable.Range(0, 4).Select(_ => residency.LoadAndAcquireAsync(slot, CancellationToken.None).AsTask()).ToArray();
        Assert.True(SpinWait.SpinUntil(() => slot.Loads == 1, TimeSpan.FromSeconds(30)), "the load did not start");
        gate.Set();

        foreach (var waiter in waiters)
        {
            var ex = await Assert.ThrowsAsync<InferenceException>(() => waiter);
            Assert.Equal(503, ex.StatusCode);
            Assert.Contains("failed to load: broken on purpose", ex.Message, StringComparison.Ordinal);
        }

        Assert.Equal(1, slot.Loads);
        Assert.Equal(0, residency.ResidentCount);
        var host = await residency.LoadAndAcquireAsync(slot, CancellationToken.None);
        Assert.Equal(2, slot.Loads);
        host!.Release();
        Assert.True(slot.IsResident);
    }

    [Fact]
    public async Task LoadAndAcquireAsync_OneWaiterCancelled_TheSharedLoadGoesOnForTheOthers()
    {
        var residency = Create(new InferenceOptions { MaxResidentModels = 2 });
        var gate = new ManualResetEventSlim();
        var slot = Slot("a", gate);
        using var deadline = new CancellationTokenSource();

        var impatient = residency.LoadAndAcquireAsync(slot, deadline.Token).AsTask();
        var patient = residency.LoadAndAcquireAsync(slot, CancellationToken.None).AsTask();
        Assert.True(SpinWait.SpinUntil(() => slot.Loads == 1, TimeSpan.FromSeconds(30)), "the load did not start");
        await deadline.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient);
        Assert.False(patient.IsCompleted);
        gate.Set();

        var host = await patient;
        Assert.Same(slot.Host, host);
        Assert.Equal(1, slot.Loads);
        host!.Release();
    }

    [Fact]
    public void TryLoadNow_MaxResidentMb_CountsEstimatedBytes()
    {
        const long MiB = 1024 * 1024;
        var residency = Create(new InferenceOptions { MaxResidentMb = 10 });
        var (a, b, c) = (Slot("a", bytes: 4 * MiB), Slot("b", bytes: 5 * MiB), Slot("c", bytes: 2 * MiB));

        Assert.True(residency.TryLoadNow(a));
        Assert.True(residency.TryLoadNow(b));
        Assert.False(residency.TryLoadNow(c)); // 4 + 5 + 2 > 10

        Assert.Equal(9 * MiB, residency.ResidentBytes);
    }

    [Fact]
    public async Task Retire_ResidentVersion_GivesItsRoomBackAndIsNeverLoadedAgain()
    {
        var residency = Create(new InferenceOptions { MaxResidentModels = 1 });
        var (a, b) = (Slot("a"), Slot("b"));
        residency.TryLoadNow(a);
        Assert.True(residency.TryAcquire(a, out var inFlight));

        residency.Retire(a);

        Assert.Equal(0, residency.ResidentCount);
        Assert.False(a.Executor.Disposed); // its request finishes first
        Assert.Null(await residency.LoadAndAcquireAsync(a, CancellationToken.None));
        Assert.True(residency.TryLoadNow(b));
        inFlight.Release();
        Assert.True(a.Executor.Disposed);
    }

    private ModelResidency Create(InferenceOptions options) =>
        new(Options.Create(options), _metrics, _time, NullLogger<ModelResidency>.Instance);

    // A request that takes the version and answers at once: it becomes the most recently used.
    private static void Use(ModelResidency residency, FakeSlot slot)
    {
        Assert.True(residency.TryAcquire(slot, out var host));
        host.Release();
    }

    private FakeSlot Slot(string name, ManualResetEventSlim? gate = null, int failures = 0, long bytes = 1024) =>
        new(name, bytes, _metrics, _time, gate, failures);

    /// <summary>A slot whose load builds a host around a <see cref="FakeExecutor"/>, counting loads.</summary>
    private sealed class FakeSlot
    {
        private readonly ResidentSlot _slot;
        private int _loads;
        private int _failuresLeft;

        public FakeSlot(string name, long bytes, NodeMetrics metrics, TimeProvider time, ManualResetEventSlim? gate, int failures)
        {
            _failuresLeft = failures;
            _slot = new ResidentSlot(name, 1, "sha256:fake", "", bytes, () =>
            {
                Interlocked.Increment(ref _loads);
                gate?.Wait(TimeSpan.FromSeconds(30));
                if (Interlocked.Decrement(ref _failuresLeft) >= 0)
                {
                    throw new InvalidDataException("broken on purpose");
                }

                Executor = new FakeExecutor();
                return new ModelHost(name, 1, "sha256:fake", Signatures.Single(TensorDataType.Fp32, 0, 4), [Executor], "cpu",
                    new ModelConfig { Instances = 1, Batching = BatchingMode.Off }, metrics, time);
            });
        }

        public int Loads => Volatile.Read(ref _loads);

        public FakeExecutor Executor { get; private set; } = null!;

        public ModelHost? Host => _slot.Host;

        public bool IsResident => _slot.IsResident;

        public static implicit operator ResidentSlot(FakeSlot slot) => slot._slot;
    }

    private sealed class FakeExecutor : IModelExecutor
    {
        public bool Disposed { get; private set; }

        public PooledTensor[] Run(PooledTensor[] inputs, RequestedOutput[] outputs, long batchSize) =>
            throw new InvalidOperationException("these tests never run a model");

        public void Dispose() => Disposed = true;
    }
}
