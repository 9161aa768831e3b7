using System.Collections.Concurrent;
using System.Text;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;
using ServingGateway.TestSupport;
using Xunit.Abstractions;

namespace ServingGateway.Inference.Tests.Repository;

/// <summary>
/// Load and unload cycles under traffic leave no ONNX Runtime object behind: every session and OrtValue
/// (given to a run or returned by it) is unreachable after a garbage collection, and the resident memory
/// (less what glibc and the garbage collector hold free) does not drift. A deliberately leaking variant
/// shows that the detector flags a leak.
/// </summary>
[Collection(RunsAloneCollection.Name)]
public sealed class NativeLeakTests(ITestOutputHelper output) : IDisposable
{
    private const int Cycles = 100;
    private const int WarmUpCycles = 10;

    // The wide model's weight alone is 1 MiB a session: 100 cycles that keep their sessions hold 100 MiB
    // and more, while cycles that free everything stay within a few MiB of where they began.
    private const long RssDriftBound = 40L * 1024 * 1024;

    private static readonly byte[] WideRequest = Encoding.UTF8.GetBytes(
        $$"""{"inputs":[{"name":"x","shape":[1,512],"datatype":"FP32","data":[{{string.Join(",", Enumerable.Repeat("0.5", 512))}}]}]}""");

    // Strings never have a shape known before the run: ONNX Runtime returns these outputs as its own OrtValues.
    private static readonly byte[] TypesRequest = Encoding.UTF8.GetBytes("""
        {"inputs":[
        {"name":"x_bool","shape":[1,3],"datatype":"BOOL","data":[true,false,true]},
        {"name":"x_uint8","shape":[1,3],"datatype":"UINT8","data":[1,2,3]},
        {"name":"x_uint16","shape":[1,3],"datatype":"UINT16","data":[1,2,3]},
        {"name":"x_uint32","shape":[1,3],"datatype":"UINT32","data":[1,2,3]},
        {"name":"x_uint64","shape":[1,3],"datatype":"UINT64","data":[1,2,3]},
        {"name":"x_int8","shape":[1,3],"datatype":"INT8","data":[1,2,3]},
        {"name":"x_int16","shape":[1,3],"datatype":"INT16","data":[1,2,3]},
        {"name":"x_int32","shape":[1,3],"datatype":"INT32","data":[1,2,3]},
        {"name":"x_int64","shape":[1,3],"datatype":"INT64","data":[1,2,3]},
        {"name":"x_fp16","shape":[1,3],"datatype":"FP16","data":[1,2,3]},
        {"name":"x_fp32","shape":[1,3],"datatype":"FP32","data":[1,2,3]},
        {"name":"x_fp64","shape":[1,3],"datatype":"FP64","data":[1,2,3]},
        {"name":"x_bf16","shape":[1,3],"datatype":"BF16","data":[1,2,3]},
        {"name":"x_string","shape":[1,3],"datatype":"BYTES","data":["a","bb","ccc"]}]}
        """);

    private readonly TempModelRepository _models = new("wide", "types");

    public void Dispose() => _models.Dispose();

    [Fact]
    public async Task LoadUnloadCycles_UnderTraffic_NothingNativeStaysReachableAndRssStaysFlat()
    {
        using var repository = CreateRepository();

        var run = await RunCyclesAsync(repository, keep: null);

        Assert.Empty(run.Errors);
        Assert.Equal(0, repository.Counters.LiveSessions);
        Assert.Equal(0, repository.Counters.LiveValues);
        Assert.True(repository.Counters.TrackedSessions >= 2 * Cycles, $"{repository.Counters.TrackedSessions} sessions tracked");
        Assert.True(run.ReturnedValues >= Cycles, $"{run.ReturnedValues} values returned by runs tracked");
        Assert.True(run.Reachable == 0, $"{run.Reachable} sessions and OrtValues still reachable after GC (see the output)");
        Assert.True(run.RssDrift < RssDriftBound, $"resident memory grew {run.RssDrift / 1024 / 1024} MiB over {Cycles - WarmUpCycles} cycles");
    }

    [Fact]
    public async Task LeakDetector_VersionsNeverReleased_FlagsReachableSessionsAndRssDrift()
    {
        // The deliberate leak: a request path that takes a reference to each version and never gives it back,
        // so unloading never disposes its sessions.
        var leaked = new List<ModelHost>();
        using var repository = CreateRepository();
        try
        {
            var run = await RunCyclesAsync(repository, keep: version =>
            {
                if (version.TryAcquire())
                {
                    leaked.Add(version);
                }
            });

            Assert.Empty(run.Errors);
            Assert.True(run.Reachable >= 2 * Cycles, $"the detector saw only {run.Reachable} reachable objects");
            Assert.True(run.RssDrift >= RssDriftBound, $"the detector saw resident memory grow only {run.RssDrift / 1024 / 1024} MiB");
        }
        finally
        {
            foreach (var version in leaked)
            {
                version.Release();
            }
        }

        Assert.Equal(0, repository.Counters.LiveSessions);
    }

    private ModelRepository CreateRepository()
    {
        var repository = Repositories.Create(_models.Path, new NodeMetrics(), TimeProvider.System);
        repository.Counters.StartTracking();
        return repository;
    }

    // Loads and unloads both models Cycles times while two clients send requests, each cycle unloading only
    // once both models have answered a request; measures the resident memory after the warm-up cycles and at
    // the end, and counts what a full garbage collection leaves reachable.
    private async Task<(int Reachable, long RssDrift, long ReturnedValues, List<Exception> Errors)> RunCyclesAsync(ModelRepository repository, Action<ModelHost>? keep)
    {
        var errors = new ConcurrentQueue<Exception>();
        var answered = new ConcurrentDictionary<string, long>();
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, 2).Select(_ => Task.Run(() => ClientAsync(repository, answered, errors, stop.Token))).ToArray();
        long rssBefore = 0;
        var valuesBefore = repository.Counters.TrackedValues;
        try
        {
            for (var cycle = 0; cycle < Cycles; cycle++)
            {
                if (cycle == WarmUpCycles)
                {
                    rssBefore = CollectAndMeasureRss();
                }

                var seen = new Dictionary<string, long>();
                foreach (var name in new[] { "wide", "types" })
                {
                    seen[name] = answered.GetValueOrDefault(name);
                    await repository.LoadAsync(name, CancellationToken.None);
                    if (keep is not null)
                    {
                        keep(repository.GetReady(name)![0]);
                    }
                }

                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (seen.Any(p => answered.GetValueOrDefault(p.Key) <= p.Value))
                {
                    Assert.True(DateTime.UtcNow < deadline, $"cycle {cycle}: a model answered no request in 30 s");
                    await Task.Delay(1);
                }

                await repository.UnloadAsync("wide", CancellationToken.None);
                await repository.UnloadAsync("types", CancellationToken.None);
            }
        }
        finally
        {
            stop.Cancel();
            await Task.WhenAll(clients);
        }

        // What the last unload set going (a batcher's loop ending, a last release disposing) may hold an object
        // for a moment: collect again until nothing is reachable, or 10 s have passed.
        var rssDrift = CollectAndMeasureRss() - rssBefore;
        var reachable = repository.Counters.CountReachable();
        var settled = DateTime.UtcNow.AddSeconds(10);
        while (reachable != (0, 0) && DateTime.UtcNow < settled)
        {
            await Task.Delay(100);
            CollectAndMeasureRss();
            reachable = repository.Counters.CountReachable();
        }

        output.WriteLine($"{Cycles} cycles: reachable {reachable.Sessions} of {repository.Counters.TrackedSessions} sessions, {reachable.Values} of {repository.Counters.TrackedValues} OrtValues; "
            + $"RSS drift {rssDrift / 1024.0 / 1024:F1} MiB; answered {string.Join(", ", answered.Select(p => $"{p.Key} {p.Value}"))}");
        return (reachable.Sessions + reachable.Values, rssDrift, repository.Counters.TrackedValues - valuesBefore, [.. errors]);
    }

    private static async Task ClientAsync(ModelRepository repository, ConcurrentDictionary<string, long> answered, ConcurrentQueue<Exception> errors, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            foreach (var (name, body) in new[] { ("wide", WideRequest), ("types", TypesRequest) })
            {
                ModelHost version;
                try
                {
                    version = repository.Acquire(name, null);
                }
                catch (InferenceException ex) when (ex.StatusCode == 404)
                {
                    await Task.Yield(); // unloaded between cycles
                    continue;
                }

                try
                {
                    using var request = InferRequestReader.Read(body, null, version.Signature);
                    var outputs = await version.InferAsync(request, CancellationToken.None);
                    foreach (var tensor in outputs)
                    {
                        tensor.Dispose();
                    }

                    answered.AddOrUpdate(name, 1, (_, n) => n + 1);
                }
                catch (Exception ex)
                {
                    errors.Enqueue(ex);
                }
                finally
                {
                    version.Release();
                }
            }
        }
    }

    private static long CollectAndMeasureRss()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        // Resident memory less what both allocators hold free: glibc's freed chunks are given back first (ONNX Runtime
        // frees whole sessions; a test before this one in the same process may have freed hundreds of MiB), and the
        // garbage collector's committed but unused space (free regions it decommits gradually, tens of MiB after a
        // burst) is subtracted. What stays counted is what is allocated: native memory and the managed heap's live
        // objects, so a leak of either shows.
        if (OperatingSystem.IsLinux())
        {
            _ = MallocTrim(0);
        }

        using var process = System.Diagnostics.Process.GetCurrentProcess();
        var managed = GC.GetGCMemoryInfo();
        return process.WorkingSet64 - Math.Max(0, managed.TotalCommittedBytes - managed.HeapSizeBytes);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
