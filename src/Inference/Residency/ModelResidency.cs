using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;

namespace ServingGateway.Inference.Residency;

/// <summary>
/// The residency policy: which cataloged versions hold executors in memory. Unlimited (the default) keeps every
/// version resident from its load to its unload, as before multiplexing. With <c>Inference:MaxResidentModels</c>
/// or <c>Inference:MaxResidentMb</c>, a request for a version that is not resident loads it (single flight: every
/// request for it waits on one load), and an idle version is evicted to make room, least recently used first by
/// LRU-2: the version whose second-to-last request is the oldest (one used only once goes before any used twice,
/// so a model used every other request outlasts two cold ones used one after the other, which plain LRU evicted
/// it for). When the first in that order is busy, the load waits up to <see cref="LruWait"/> for it before it
/// evicts the next idle one.
/// </summary>
/// <remarks>
/// Idle means that the repository's reference is the only one left (<see cref="ModelHost.TryEvict"/>): a request
/// holds a reference from acquire to reply, queued in the batcher or running, so such a version is never
/// evicted. When nothing can be evicted the load is refused with a 503 and Retry-After, never run past the limit.
/// Loads in progress count against the limits as if resident. A waiter's cancellation (its deadline, or the
/// client leaving) ends its wait, not the load the others share; a failed load fails all its waiters with the
/// same error and is not remembered: the next request tries again.
/// </remarks>
internal sealed partial class ModelResidency
{
    /// <summary>How often a request may find its freshly loaded version evicted again before it is refused.</summary>
    internal const int MaxLoadAttempts = 4;

    /// <summary>The Retry-After of a load refused for lack of room, or failed.</summary>
    internal static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a load waits for room when nothing can be evicted yet (every resident version busy, or loads in
    /// progress holding the rest) before it is refused: a request in flight or a load usually ends well within it.
    /// </summary>
    internal static readonly TimeSpan RoomWait = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a load waits for the least recently used version to become idle before it evicts a more recently
    /// used idle one instead. Without it, a hot model was evicted whenever the colder one before it was still
    /// answering (benchmarks/multiplex/run.sh: the hot model reloaded 97 times for 300 requests); its cost is at
    /// most this much on a cold request, whose load takes longer anyway.
    /// </summary>
    internal static readonly TimeSpan LruWait = TimeSpan.FromMilliseconds(200);

    private readonly object _gate = new();
    private readonly List<ResidentSlot> _resident = [];
    private readonly NodeMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<ModelResidency> _logger;
    private readonly int _maxModels;
    private readonly long _maxBytes;
    private int _reservedModels;
    private long _reservedBytes;
    private long _residentBytes;
    private long _clock;
    private int _roomWaiters;
    private TaskCompletionSource _roomChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ModelResidency(IOptions<InferenceOptions> options, NodeMetrics metrics, TimeProvider time, ILogger<ModelResidency> logger)
    {
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _maxModels = options.Value.MaxResidentModels ?? int.MaxValue;
        _maxBytes = options.Value.MaxResidentMb is { } mb ? mb * 1024L * 1024 : long.MaxValue;
        Limited = options.Value.MaxResidentModels is not null || options.Value.MaxResidentMb is not null;
    }

    /// <summary>Whether a limit is set: versions load on demand and are evicted.</summary>
    public bool Limited { get; }

    /// <summary>The bytes one version may hold at most (Inference:MaxResidentMb), or <see cref="long.MaxValue"/>.</summary>
    public long MaxBytes => _maxBytes;

    /// <summary>Versions resident now (loads in progress not included).</summary>
    public int ResidentCount
    {
        get
        {
            lock (_gate)
            {
                return _resident.Count;
            }
        }
    }

    /// <summary>The estimated bytes of the versions resident now.</summary>
    public long ResidentBytes => Interlocked.Read(ref _residentBytes);

    /// <summary>Loads waiting for room now.</summary>
    internal int RoomWaiters => Volatile.Read(ref _roomWaiters);

    /// <summary>
    /// Takes a reference on <paramref name="slot"/>'s host when it is resident; the hot path, with no lock.
    /// </summary>
    public bool TryAcquire(ResidentSlot slot, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out ModelHost host)
    {
        host = slot.Host;
        if (host is not null && host.TryAcquire())
        {
            Touch(slot);
            return true;
        }

        return false;
    }

    /// <summary>
    /// Loads <paramref name="slot"/> (or waits for the load in progress) and takes a reference on its host;
    /// null when the slot was retired meanwhile (the caller looks up its successor).
    /// </summary>
    /// <exception cref="InferenceException">503 with Retry-After: no idle version to evict, or the load failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> ended the wait (the load goes on).</exception>
    public async ValueTask<ModelHost?> LoadAndAcquireAsync(ResidentSlot slot, CancellationToken cancellationToken)
    {
        // Recency is the request's arrival, not its load's end: a request that waited for a load is not more
        // recent than the ones that arrived after it and were served at once.
        var arrived = NextStamp();
        for (var attempt = 0; attempt < MaxLoadAttempts; attempt++)
        {
            Task<ModelHost> load;
            lock (slot)
            {
                if (slot.Retired)
                {
                    return null;
                }

                if (slot.Host is { } resident && resident.TryAcquire())
                {
                    Touch(slot, arrived);
                    return resident;
                }

                load = slot.Loading ??= Task.Run(() => LoadSharedAsync(slot, arrived), CancellationToken.None);
            }

            var host = await load.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (host.TryAcquire())
            {
                Touch(slot, arrived);
                return host;
            }

            // Evicted (or retired) between the load and this request's turn: look again.
        }

        throw new InferenceException(StatusCodes.Status503ServiceUnavailable,
            $"model '{slot.ModelName}' version {slot.Version} was evicted {MaxLoadAttempts} times before it could serve: more models are in use than Inference:MaxResidentModels / MaxResidentMb hold")
        {
            RetryAfter = RetryAfter,
        };
    }

    /// <summary>
    /// Loads <paramref name="slot"/> now, on the caller's thread (the repository's load at start-up and on
    /// explicit load), when it fits without evicting: always, when unlimited. False when it does not fit.
    /// </summary>
    /// <exception cref="Exception">What the load threw; the slot stays not resident.</exception>
    public bool TryLoadNow(ResidentSlot slot)
    {
        if (!TryReserve(slot, evict: false))
        {
            return false;
        }

        Complete(slot, LoadReserved(slot), NextStamp());
        return true;
    }

    /// <summary>
    /// Unload or replacement: the slot is never loaded again and its host is retired (disposed once its requests
    /// finish); its room is given back at once.
    /// </summary>
    public void Retire(ResidentSlot slot)
    {
        ModelHost? host;
        lock (_gate)
        {
            lock (slot)
            {
                slot.Retired = true;
                host = slot.Host;
            }

            if (_resident.Remove(slot))
            {
                Interlocked.Add(ref _residentBytes, -slot.EstimatedBytes);
                PublishLocked();
            }
        }

        host?.Retire();
        SignalRoom();
    }

    // The shared load of LoadAndAcquireAsync: reserve room (evicting; waiting up to RoomWait for a version to
    // become idle or a load to end), create, publish.
    private async Task<ModelHost> LoadSharedAsync(ResidentSlot slot, long arrived)
    {
        try
        {
            var started = _time.GetTimestamp();
            while (true)
            {
                var roomChanged = Volatile.Read(ref _roomChanged).Task;
                Interlocked.Increment(ref _roomWaiters);
                try
                {
                    var elapsed = _time.GetElapsedTime(started);
                    var inLruOrder = elapsed < LruWait;
                    if (TryReserve(slot, evict: true, inLruOrder))
                    {
                        break;
                    }

                    var left = (inLruOrder ? LruWait : RoomWait) - elapsed;
                    if (left <= TimeSpan.Zero)
                    {
                        throw NoRoom(slot);
                    }

                    try
                    {
                        await roomChanged.WaitAsync(left, _time).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        // one last look at the top of the loop
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref _roomWaiters);
                }
            }

            ModelHost host;
            try
            {
                host = LoadReserved(slot);
            }
            catch (Exception ex) when (ex is not InferenceException)
            {
                Log.LoadFailed(_logger, slot.ModelName, slot.Version, ex.Message);
                throw new InferenceException(StatusCodes.Status503ServiceUnavailable,
                    $"model '{slot.ModelName}' version {slot.Version} failed to load: {ex.Message}", ex)
                {
                    RetryAfter = RetryAfter,
                };
            }

            Complete(slot, host, arrived);
            return host;
        }
        finally
        {
            lock (slot)
            {
                slot.Loading = null; // a failure is not remembered: the next request loads again
            }
        }
    }

    private InferenceException NoRoom(ResidentSlot slot)
    {
        int resident;
        lock (_gate)
        {
            resident = _resident.Count;
        }

        Log.NoRoom(_logger, slot.ModelName, slot.Version, resident);
        return new InferenceException(StatusCodes.Status503ServiceUnavailable,
            $"model '{slot.ModelName}' version {slot.Version} is not resident and no room can be made: the {resident} resident version(s) kept requests in flight or queued, or loads held the rest, for {RoomWait.TotalSeconds:0.#} s (Inference:MaxResidentModels / MaxResidentMb)")
        {
            RetryAfter = RetryAfter,
        };
    }

    // Something that may make room happened (a version became idle, a load ended or failed, a version was
    // retired): loads waiting for room look again. Free when none waits.
    private void SignalRoom()
    {
        if (Volatile.Read(ref _roomWaiters) > 0)
        {
            Interlocked.Exchange(ref _roomChanged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    // Creates the host of a slot whose room is reserved; gives the room back when it throws.
    private ModelHost LoadReserved(ResidentSlot slot)
    {
        var started = _time.GetTimestamp();
        try
        {
            var host = slot.Load();
            var elapsed = _time.GetElapsedTime(started);
            _metrics.RecordModelLoad(slot.ModelName, success: true, elapsed);
            if (Limited)
            {
                Log.Loaded(_logger, slot.ModelName, slot.Version, (long)elapsed.TotalMilliseconds);
            }

            return host;
        }
        catch
        {
            _metrics.RecordModelLoad(slot.ModelName, success: false, _time.GetElapsedTime(started));
            Unreserve(slot);
            throw;
        }
    }

    // The reserved room becomes the host's; a slot retired during its load retires the host at once.
    private void Complete(ResidentSlot slot, ModelHost host, long arrived)
    {
        bool retired;
        lock (_gate)
        {
            _reservedModels--;
            _reservedBytes -= slot.EstimatedBytes;
            lock (slot)
            {
                retired = slot.Retired;
                if (!retired)
                {
                    slot.Host = host;
                    _resident.Add(slot);
                    Interlocked.Add(ref _residentBytes, slot.EstimatedBytes);
                }
            }

            PublishLocked();
        }

        if (retired)
        {
            host.Retire();
        }
        else
        {
            Touch(slot, arrived);
            if (Limited)
            {
                host.Idle = SignalRoom;
            }
        }

        SignalRoom();
    }

    // Counts slot's room as taken (a load in progress counts as resident), evicting idle versions in LRU-2 order
    // (second-to-last use, then last use) when evict is set; with inLruOrder, only in order of recency: a busy version stops
    // the search rather than one used after it being evicted. False when it does not fit.
    private bool TryReserve(ResidentSlot slot, bool evict, bool inLruOrder = false)
    {
        lock (_gate)
        {
            List<ResidentSlot>? candidates = null;
            var next = 0;
            while (!Fits(slot.EstimatedBytes))
            {
                if (!evict)
                {
                    return false;
                }

                candidates ??= [.. _resident.OrderBy(s => Volatile.Read(ref s.PreviousUsed)).ThenBy(s => Volatile.Read(ref s.LastUsed))];
                var evicted = false;
                while (next < candidates.Count && !evicted)
                {
                    var victim = candidates[next++];
                    if (victim.Host is { } host && host.TryEvict())
                    {
                        _resident.Remove(victim);
                        Interlocked.Add(ref _residentBytes, -victim.EstimatedBytes);
                        _metrics.RecordEviction(victim.ModelName);
                        Log.Evicted(_logger, victim.ModelName, victim.Version, slot.ModelName, slot.Version);
                        evicted = true;
                    }
                    else if (inLruOrder)
                    {
                        break;
                    }
                }

                if (!evicted)
                {
                    PublishLocked();
                    return false;
                }
            }

            _reservedModels++;
            _reservedBytes += slot.EstimatedBytes;
            PublishLocked();
            return true;
        }
    }

    private bool Fits(long bytes) =>
        _resident.Count + _reservedModels < _maxModels
        && Interlocked.Read(ref _residentBytes) + _reservedBytes + bytes <= _maxBytes;

    private void Unreserve(ResidentSlot slot)
    {
        lock (_gate)
        {
            _reservedModels--;
            _reservedBytes -= slot.EstimatedBytes;
        }

        SignalRoom();
    }

    // Recency for LRU-2: a use counter, not a clock (order is all it needs), its last two values; not kept when unlimited.
    private void Touch(ResidentSlot slot) => Touch(slot, NextStamp());

    private void Touch(ResidentSlot slot, long stamp)
    {
        if (!Limited)
        {
            return;
        }

        var seen = Volatile.Read(ref slot.LastUsed);
        while (stamp > seen)
        {
            var found = Interlocked.CompareExchange(ref slot.LastUsed, stamp, seen);
            if (found == seen)
            {
                Volatile.Write(ref slot.PreviousUsed, seen);
                return;
            }

            seen = found;
        }
    }

    private long NextStamp() => Limited ? Interlocked.Increment(ref _clock) : 0;

    private void PublishLocked() => _metrics.SetResident(_resident.Count, Interlocked.Read(ref _residentBytes));

    private static partial class Log
    {
        [LoggerMessage(90, LogLevel.Information, "Evicted model {Model} version {Version} (idle, least recently used by its last two requests) to load {ForModel} version {ForVersion}")]
        public static partial void Evicted(ILogger logger, string model, long version, string forModel, long forVersion);

        [LoggerMessage(91, LogLevel.Information, "Made model {Model} version {Version} resident in {Milliseconds} ms")]
        public static partial void Loaded(ILogger logger, string model, long version, long milliseconds);

        [LoggerMessage(92, LogLevel.Error, "Model {Model} version {Version} failed to load on demand: {Reason}")]
        public static partial void LoadFailed(ILogger logger, string model, long version, string reason);

        [LoggerMessage(93, LogLevel.Warning, "Model {Model} version {Version} not loaded: the {Resident} resident version(s) all have requests in flight or queued")]
        public static partial void NoRoom(ILogger logger, string model, long version, int resident);
    }
}
