using System.Text.Json;
using Microsoft.Extensions.Options;
using ServingGateway.Auth;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// Drives every model's rollout (<see cref="Rollout"/>): starts them, ticks them on the injected clock every
/// <see cref="RolloutOptions.TickMilliseconds"/>, carries out what they decide (split, evidence window, fleet) and, on
/// every change, audits the decision and rewrites the stored state (<see cref="IRolloutStore"/>). One lock guards the
/// rollouts; the fleet's loads run outside it, one after another per model, in the order they were decided.
/// </summary>
/// <remarks>
/// Only the holder of the lease (<see cref="IRolloutLease"/>: always this process when nothing is shared) drives. The
/// others follow: every <see cref="RolloutOptions.FollowMilliseconds"/> they read the stored revision and, when it
/// moved, apply the stored splits, so every edge routes by the same split within a second of a change. A follower
/// that takes the lease over reads the state back and resumes each running rollout (<see cref="Rollout.Restarted"/>).
/// </remarks>
internal sealed partial class RolloutDriver : BackgroundService
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Rollout> _rollouts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TrafficSplit> _splits = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _fleetWork = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _loads = new(StringComparer.Ordinal);
    private readonly ITrafficSplits _trafficSplits;
    private readonly IRolloutEvidence _evidence;
    private readonly IVersionFleet _fleet;
    private readonly IRolloutStore _store;
    private readonly IRolloutLease _lease;
    private readonly AuditLog _audit;
    private readonly RolloutMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly TimeSpan _tick;
    private readonly TimeSpan _follow;
    private readonly TimeSpan _unloadGrace;
    private readonly ILogger<RolloutDriver> _logger;
    private volatile bool _driving;
    private long? _followed;

    public RolloutDriver(
        ITrafficSplits trafficSplits, IRolloutEvidence evidence, IVersionFleet fleet, IRolloutStore store, IRolloutLease lease,
        AuditLog audit, RolloutMetrics metrics, IOptions<RolloutOptions> options, TimeProvider time, ILogger<RolloutDriver> logger)
    {
        _trafficSplits = trafficSplits;
        _evidence = evidence;
        _fleet = fleet;
        _store = store;
        _lease = lease;
        _audit = audit;
        _metrics = metrics;
        _time = time;
        _tick = TimeSpan.FromMilliseconds(options.Value.TickMilliseconds);
        _unloadGrace = TimeSpan.FromMilliseconds(options.Value.UnloadGraceMilliseconds);
        _follow = TimeSpan.FromMilliseconds(Math.Min(options.Value.TickMilliseconds, options.Value.FollowMilliseconds));
        _logger = logger;
    }

    /// <summary>Whether this process drives the rollouts now (holds the lease); the others forward admin calls to it.</summary>
    public bool IsDriving => _driving;

    /// <summary>
    /// Reads the state file back and applies its splits (call before traffic). Returns, per model with a rollout, the
    /// versions it must serve: unfinished ones resume (loading both versions again) once the driver runs.
    /// </summary>
    /// <exception cref="InvalidDataException">The stored state is not valid (a state file that is not one stops the start).</exception>
    public IReadOnlyDictionary<string, IReadOnlyList<long>> Restore()
    {
        DeploymentsState state;
        try
        {
            state = _store.Load();
        }
        catch (IOException ex)
        {
            // Redis is away (a file store that cannot be read is InvalidDataException, and stops the start): start with
            // no split; the state applies once Redis answers (followed, or read back by the process that takes the lease).
            Log.FollowFailed(_logger, _store.Describe, ex.Message);
            return new Dictionary<string, IReadOnlyList<long>>(StringComparer.Ordinal);
        }

        var serving = new Dictionary<string, IReadOnlyList<long>>(StringComparer.Ordinal);
        lock (_lock)
        {
            Replace(state);
            foreach (var rollout in state.Rollouts)
            {
                serving[rollout.Model] = rollout.State switch
                {
                    RolloutState.Promoted => [rollout.New],
                    RolloutState.RolledBack or RolloutState.Failed => [rollout.Current],
                    _ => [rollout.Current, rollout.New],
                };
            }
        }

        Log.Restored(_logger, _store.Describe, state.Splits.Count, state.Rollouts.Count(r => !r.IsFinished));
        return serving;
    }

    // Under _lock: the stored state replaces the one in memory, and its splits apply (those of models no longer named go).
    private void Replace(DeploymentsState state)
    {
        foreach (var model in _splits.Keys.Except(state.Splits.Keys).ToList())
        {
            _splits.Remove(model);
            _trafficSplits.Remove(model);
        }

        foreach (var (model, split) in state.Splits)
        {
            _splits[model] = split;
            _trafficSplits.Set(model, split);
        }

        _rollouts.Clear();
        foreach (var rollout in state.Rollouts)
        {
            _rollouts[rollout.Model] = rollout;
        }
    }

    /// <summary>The model's latest rollout (running or finished) with the live readings of both versions; null when it never had one.</summary>
    public (Rollout Rollout, VersionEvidence New, VersionEvidence Current)? Current(string model)
    {
        lock (_lock)
        {
            if (!_rollouts.TryGetValue(model, out var rollout))
            {
                return null;
            }

            return rollout.State is RolloutState.Analyzing or RolloutState.Paused
                ? (rollout, _evidence.Read(model, rollout.New), _evidence.Read(model, rollout.Current))
                : (rollout, VersionEvidence.None, VersionEvidence.None);
        }
    }

    /// <summary>
    /// The model's latest rollout as <c>GET .../rollouts/current</c> answers it (docs/API.md), written under the lock
    /// (a tick may be adding a decision); null when it never had one.
    /// </summary>
    public byte[]? Describe(string model)
    {
        lock (_lock)
        {
            if (Current(model) is not var (rollout, newVersion, current))
            {
                return null;
            }

            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream))
            {
                w.WriteStartObject();
                RolloutJson.WriteRollout(w, rollout);
                w.WriteStartArray("versions"u8);
                foreach (var (version, role, evidence) in (ReadOnlySpan<(long, string, VersionEvidence)>)[(rollout.New, "new", newVersion), (rollout.Current, "current", current)])
                {
                    w.WriteStartObject();
                    w.WriteNumber("version"u8, version);
                    w.WriteString("role"u8, role);
                    RolloutJson.WriteEvidence(w, evidence);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            return stream.ToArray();
        }
    }

    /// <summary>
    /// Every model's latest rollout in brief, as the status page shows it (docs/API.md, "Status page data"): model,
    /// versions, strategy, state, percent and the last decision, written under the lock. On a process that does not
    /// drive the rollouts: the stored state as it last followed it.
    /// </summary>
    public void WriteSummaries(Utf8JsonWriter w)
    {
        lock (_lock)
        {
            w.WriteStartArray();
            foreach (var rollout in _rollouts.Values.OrderBy(r => r.Model, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("model"u8, rollout.Model);
                w.WriteNumber("version"u8, rollout.New);
                w.WriteNumber("current_version"u8, rollout.Current);
                w.WriteString("strategy"u8, RolloutJson.StrategyName(rollout.Spec.Strategy));
                w.WriteString("state"u8, RolloutJson.StateName(rollout.State));
                w.WriteNumber("percent"u8, rollout.Percent);
                if (rollout.Decisions.Count > 0)
                {
                    var last = rollout.Decisions[^1];
                    w.WriteStartObject("last_decision"u8);
                    w.WriteString("time"u8, last.Time);
                    w.WriteString("action"u8, last.Action);
                    w.WriteString("reason"u8, last.Reason);
                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }
    }

    /// <summary>
    /// Starts a rollout of <paramref name="spec"/> on <paramref name="model"/>: the new version loads in the
    /// background (state <c>loading</c>) while all traffic stays on the current one.
    /// </summary>
    /// <exception cref="DeploymentException">404 for a model or version not on disk; 409 when a rollout of the model is running, when it has no ready version, or when the version is already the current one; 503 when this process does not drive the rollouts (or found, saving, that another took the lease).</exception>
    public async Task<Rollout> StartAsync(string model, RolloutSpec spec, string by, CancellationToken cancellationToken)
    {
        EnsureDriving();
        var stored = _fleet.Stored(model);
        if (stored is { Count: 0 })
        {
            throw new DeploymentException(StatusCodes.Status404NotFound, $"unknown model '{model}': it has no version on disk");
        }

        if (stored is not null && !stored.Contains(spec.Version))
        {
            throw new DeploymentException(StatusCodes.Status404NotFound,
                $"model '{model}' has no version {spec.Version} on disk (stored: {string.Join(", ", stored)}); upload it first");
        }

        var ready = await _fleet.ReadyAsync(model, cancellationToken);
        lock (_lock)
        {
            EnsureDriving();
            if (_rollouts.TryGetValue(model, out var running) && !running.IsFinished)
            {
                throw new DeploymentException(StatusCodes.Status409Conflict, 
                    $"a rollout of '{model}' to version {running.New} is already {RolloutJson.StateName(running.State)}: promote or roll it back first");
            }

            long current;
            if (_trafficSplits.Get(model) is { Shares.Count: > 0 } split)
            {
                current = split.Shares.MaxBy(s => s.Percent).Version;
            }
            else if (ready.Count > 0)
            {
                current = ready[0];
            }
            else
            {
                throw new DeploymentException(StatusCodes.Status409Conflict, $"model '{model}' has no ready version to roll out from: load one first");
            }

            if (current == spec.Version)
            {
                throw new DeploymentException(StatusCodes.Status409Conflict, $"version {spec.Version} of '{model}' is already the one serving");
            }

            var (rollout, actions) = Rollout.Start(model, spec, current, _time.GetUtcNow(), by);
            _rollouts[model] = rollout;
            Apply(rollout, actions);
            EnsureDriving(); // the save found another holder: nothing was carried out, so nothing was started
            return rollout;
        }
    }

    /// <summary>An operator's <paramref name="command"/> (promote, rollback, pause, resume) on the model's running rollout.</summary>
    /// <exception cref="DeploymentException">404 for a model with no rollout or an unknown command; 409 when the rollout's state does not allow it.</exception>
    public Rollout Command(string model, string command, string by)
    {
        EnsureDriving();
        lock (_lock)
        {
            if (!_rollouts.TryGetValue(model, out var rollout))
            {
                throw new DeploymentException(StatusCodes.Status404NotFound, $"model '{model}' has no rollout");
            }

            var now = _time.GetUtcNow();
            var actions = command switch
            {
                "promote" => rollout.Promote(now, by, _evidence.Read(model, rollout.New), _evidence.Read(model, rollout.Current)),
                "rollback" => rollout.Rollback(now, by, _evidence.Read(model, rollout.New), _evidence.Read(model, rollout.Current)),
                "pause" => rollout.Pause(now, by),
                "resume" => rollout.Resume(now, by),
                _ => throw new DeploymentException(StatusCodes.Status404NotFound, $"unknown rollout command '{command}': promote, rollback, pause or resume"),
            };
            Apply(rollout, actions);
            EnsureDriving(); // as in StartAsync: a refused save carried nothing out
            return rollout;
        }
    }

    /// <summary>One look at every running rollout: loads that finished, windows that ended.</summary>
    public void Tick()
    {
        lock (_lock)
        {
            if (!_driving)
            {
                return;
            }

            var now = _time.GetUtcNow();
            foreach (var rollout in _rollouts.Values.Where(r => !r.IsFinished).ToList())
            {
                var model = rollout.Model;
                if (_loads.TryGetValue(model, out var load))
                {
                    if (!load.IsCompleted)
                    {
                        continue;
                    }

                    _loads.Remove(model);
                    Apply(rollout, load.IsCompletedSuccessfully
                        ? rollout.Loaded(now)
                        : rollout.LoadFailed(now, $"loading version {rollout.New} failed: {Reason(load)}"));
                    continue;
                }

                Apply(rollout, rollout.Tick(now, _evidence.Read(model, rollout.New), _evidence.Read(model, rollout.Current)));
            }
        }
    }

    /// <summary>Waits until the fleet has done what the rollouts decided so far (tests, shutdown).</summary>
    public Task FleetIdleAsync()
    {
        lock (_lock)
        {
            return Task.WhenAll(_fleetWork.Values);
        }
    }

    /// <summary>
    /// Takes the lease or renews it; taking it over reads the stored state back and resumes every running rollout.
    /// Returns whether this process drives now.
    /// </summary>
    public bool Lead()
    {
        var holding = _lease.TryHold();
        if (holding && !_driving)
        {
            TakeOver();
        }
        else if (!holding && _driving)
        {
            StepDown();
        }

        return _driving;
    }

    // The lease is gone (not renewed, or a save found another holder): follow from now on, reading the stored state
    // afresh at the next look, since this process's copy may hold a decision that was never stored.
    private void StepDown()
    {
        _driving = false;
        _followed = null;
        Log.LeaseLost(_logger);
    }

    // The stored state, or false (logged) when it cannot be read now.
    private bool TryLoad(out DeploymentsState state)
    {
        try
        {
            state = _store.Load();
            return true;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            Log.FollowFailed(_logger, _store.Describe, ex.Message);
            state = null!;
            return false;
        }
    }

    /// <summary>A follower's look at the stored state: when its revision moved, its splits apply here too.</summary>
    public void Follow()
    {
        if (_driving || _store.Revision() is not { } revision || revision == _followed || !TryLoad(out var state))
        {
            return;
        }

        lock (_lock)
        {
            if (!_driving)
            {
                Replace(state);
                _followed = revision;
            }
        }
    }

    private void TakeOver()
    {
        if (!TryLoad(out var state))
        {
            _lease.Release();
            return;
        }

        lock (_lock)
        {
            Replace(state);
            _loads.Clear();
            _driving = true;
            var now = _time.GetUtcNow();
            var running = _rollouts.Values.Where(r => !r.IsFinished).ToList();
            foreach (var rollout in running)
            {
                Apply(rollout, rollout.Restarted(now));
            }

            Log.Driving(_logger, _store.Describe, running.Count);
        }
    }

    // Admin calls reach the driving process (RolloutEndpoints forwards them); one that lost the lease meanwhile refuses.
    private void EnsureDriving()
    {
        if (!_driving)
        {
            throw new DeploymentException(StatusCodes.Status503ServiceUnavailable,
                "this process does not drive the rollouts now (another edge holds the lease, or none does yet): retry in a second");
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // A takeover resumes the running rollouts (loading again); their first look comes a tick later.
                var wasDriving = _driving;
                if (!Lead())
                {
                    Follow();
                }
                else if (wasDriving)
                {
                    Tick();
                }

                await Task.Delay(_driving ? _tick : _follow, _time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: a running rollout resumes from the stored state at the next start, or on the edge that takes the lease.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_driving)
        {
            _driving = false;
            _lease.Release();
        }
    }

    // Under _lock. The state is stored first: when the lease was lost meanwhile (this process stalled past its expiry
    // and another took over), nothing of the decision is carried out here, and the stored state replaces this one's.
    private void Apply(Rollout rollout, RolloutActions actions)
    {
        if (ReferenceEquals(actions, RolloutActions.None))
        {
            return;
        }

        var model = rollout.Model;
        var splits = actions.Split is { } next ? new Dictionary<string, TrafficSplit>(_splits, StringComparer.Ordinal) { [model] = next } : _splits;
        try
        {
            _store.Save(splits, _rollouts.Values);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.SaveFailed(_logger, _store.Describe, ex.Message);
        }
        catch (RolloutLeaseLostException)
        {
            StepDown();
            return;
        }

        if (actions.Split is { } split)
        {
            _splits[model] = split;
            _trafficSplits.Set(model, split);
        }

        if (actions.StartWindow)
        {
            _evidence.StartWindow(model);
        }

        if (actions.Serve is { } versions)
        {
            var previous = _fleetWork.TryGetValue(model, out var work) ? work : Task.CompletedTask;
            // A split that moved traffic off a version first lets the requests already routed to it arrive (through an edge
            // they may still be on their way to a node), then the version drains and unloads.
            var serve = ServeAfterAsync(previous, model, versions, actions.Split is not null && !actions.Loading ? _unloadGrace : TimeSpan.Zero);
            _fleetWork[model] = serve.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            if (actions.Loading)
            {
                _loads[model] = serve;
            }
        }

        if (actions.Decision is { } decision)
        {
            Log.Decided(_logger, model, decision.Action, decision.Percent, decision.Reason);
            _metrics.Decided(model, decision.Action);
            _audit.Event(decision.By, "rollout", model, decision.Action, w =>
            {
                w.WriteNumber("version"u8, rollout.New);
                w.WriteNumber("current_version"u8, rollout.Current);
                w.WriteString("state"u8, RolloutJson.StateName(rollout.State));
                w.WriteStartObject("decision"u8);
                RolloutJson.WriteDecision(w, decision);
                w.WriteEndObject();
            });
        }
    }

    private async Task ServeAfterAsync(Task previous, string model, IReadOnlyList<long> versions, TimeSpan grace)
    {
        await previous;
        if (grace > TimeSpan.Zero)
        {
            await Task.Delay(grace, _time);
        }

        try
        {
            await _fleet.ServeAsync(model, versions, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A load's failure is the rollout's to judge (Tick); an unload's is logged and the split already moved.
            Log.ServeFailed(_logger, model, string.Join(", ", versions), ex.Message);
            throw;
        }
    }

    private static string Reason(Task load) =>
        load.Exception?.GetBaseException().Message ?? "cancelled";

    private static partial class Log
    {
        [LoggerMessage(180, LogLevel.Information, "Rollout of {Model}: {Action} at {Percent}%: {Reason}")]
        public static partial void Decided(ILogger logger, string model, string action, int percent, string reason);

        [LoggerMessage(181, LogLevel.Error, "Rollout of {Model}: serving versions [{Versions}] failed: {Reason}")]
        public static partial void ServeFailed(ILogger logger, string model, string versions, string reason);

        [LoggerMessage(182, LogLevel.Error, "Could not write the deployments state ({Store}): {Reason}; the state in memory goes on, a restart would lose the latest change")]
        public static partial void SaveFailed(ILogger logger, string store, string reason);

        [LoggerMessage(183, LogLevel.Information, "Deployments state ({Store}): {Splits} split(s) applied, {Running} rollout(s) to resume")]
        public static partial void Restored(ILogger logger, string store, int splits, int running);

        [LoggerMessage(185, LogLevel.Information, "This process drives the rollouts now (it holds the lease; state {Store}): {Running} running rollout(s) resume")]
        public static partial void Driving(ILogger logger, string store, int running);

        [LoggerMessage(186, LogLevel.Warning, "This process lost the rollouts' lease: another drives them now, this one follows their splits")]
        public static partial void LeaseLost(ILogger logger);

        [LoggerMessage(187, LogLevel.Warning, "Could not read the deployments state ({Store}): {Reason}; the splits applied here stay as they were")]
        public static partial void FollowFailed(ILogger logger, string store, string reason);
    }
}
