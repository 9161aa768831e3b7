using System.Text.Json;
using Microsoft.Extensions.Options;
using ServingGateway.Auth;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// Drives every model's rollout (<see cref="Rollout"/>): starts them, ticks them on the injected clock every
/// <see cref="RolloutOptions.TickMilliseconds"/>, carries out what they decide (split, evidence window, fleet) and, on
/// every change, audits the decision and rewrites the state file. One lock guards the rollouts; the fleet's loads run
/// outside it, one after another per model, in the order they were decided.
/// </summary>
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
    private readonly Func<string, IReadOnlyList<long>> _stored;
    private readonly RolloutStore _store;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly TimeSpan _tick;
    private readonly ILogger<RolloutDriver> _logger;

    // stored: the versions of a model on disk, highest first (empty for an unknown model): what a rollout may roll out.
    public RolloutDriver(
        ITrafficSplits trafficSplits, IRolloutEvidence evidence, IVersionFleet fleet, Func<string, IReadOnlyList<long>> stored, RolloutStore store,
        AuditLog audit, IOptions<RolloutOptions> options, TimeProvider time, ILogger<RolloutDriver> logger)
    {
        _trafficSplits = trafficSplits;
        _evidence = evidence;
        _fleet = fleet;
        _stored = stored;
        _store = store;
        _audit = audit;
        _time = time;
        _tick = TimeSpan.FromMilliseconds(options.Value.TickMilliseconds);
        _logger = logger;
    }

    /// <summary>
    /// Reads the state file back and applies its splits (call before traffic). Returns, per model with a rollout, the
    /// versions it must serve: unfinished ones resume (loading both versions again) once the driver runs.
    /// </summary>
    /// <exception cref="InvalidDataException">The state file is not valid.</exception>
    public IReadOnlyDictionary<string, IReadOnlyList<long>> Restore()
    {
        var (splits, rollouts) = _store.Load();
        var serving = new Dictionary<string, IReadOnlyList<long>>(StringComparer.Ordinal);
        lock (_lock)
        {
            foreach (var (model, split) in splits)
            {
                _splits[model] = split;
                _trafficSplits.Set(model, split);
            }

            foreach (var rollout in rollouts)
            {
                _rollouts[rollout.Model] = rollout;
                serving[rollout.Model] = rollout.State switch
                {
                    RolloutState.Promoted => [rollout.New],
                    RolloutState.RolledBack or RolloutState.Failed => [rollout.Current],
                    _ => [rollout.Current, rollout.New],
                };
            }
        }

        Log.Restored(_logger, _store.Path, splits.Count, rollouts.Count(r => !r.IsFinished));
        return serving;
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
    /// Starts a rollout of <paramref name="spec"/> on <paramref name="model"/>: the new version loads in the
    /// background (state <c>loading</c>) while all traffic stays on the current one.
    /// </summary>
    /// <exception cref="DeploymentException">404 for a model or version not on disk; 409 when a rollout of the model is running, when it has no ready version, or when the version is already the current one.</exception>
    public async Task<Rollout> StartAsync(string model, RolloutSpec spec, string by, CancellationToken cancellationToken)
    {
        var stored = _stored(model);
        if (stored.Count == 0)
        {
            throw new DeploymentException(StatusCodes.Status404NotFound, $"unknown model '{model}': it has no version on disk");
        }

        if (!stored.Contains(spec.Version))
        {
            throw new DeploymentException(StatusCodes.Status404NotFound,
                $"model '{model}' has no version {spec.Version} on disk (stored: {string.Join(", ", stored)}); upload it first");
        }

        var ready = await _fleet.ReadyAsync(model, cancellationToken);
        lock (_lock)
        {
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
            return rollout;
        }
    }

    /// <summary>An operator's <paramref name="command"/> (promote, rollback, pause, resume) on the model's running rollout.</summary>
    /// <exception cref="DeploymentException">404 for a model with no rollout or an unknown command; 409 when the rollout's state does not allow it.</exception>
    public Rollout Command(string model, string command, string by)
    {
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
            return rollout;
        }
    }

    /// <summary>One look at every running rollout: loads that finished, windows that ended.</summary>
    public void Tick()
    {
        lock (_lock)
        {
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            foreach (var rollout in _rollouts.Values.Where(r => !r.IsFinished))
            {
                Apply(rollout, rollout.Restarted(now));
            }
        }

        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(_tick, _time, stoppingToken);
                Tick();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: a running rollout resumes from the state file at the next start.
        }
    }

    // Under _lock.
    private void Apply(Rollout rollout, RolloutActions actions)
    {
        if (ReferenceEquals(actions, RolloutActions.None))
        {
            return;
        }

        var model = rollout.Model;
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
            var serve = ServeAfterAsync(previous, model, versions);
            _fleetWork[model] = serve.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            if (actions.Loading)
            {
                _loads[model] = serve;
            }
        }

        if (actions.Decision is { } decision)
        {
            Log.Decided(_logger, model, decision.Action, decision.Percent, decision.Reason);
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

        try
        {
            _store.Save(_splits, _rollouts.Values);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.SaveFailed(_logger, _store.Path, ex.Message);
        }
    }

    private async Task ServeAfterAsync(Task previous, string model, IReadOnlyList<long> versions)
    {
        await previous;
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

        [LoggerMessage(182, LogLevel.Error, "Could not write the deployments state file {Path}: {Reason}; the state in memory goes on, a restart would lose the latest change")]
        public static partial void SaveFailed(ILogger logger, string path, string reason);

        [LoggerMessage(183, LogLevel.Information, "Deployments state {Path}: {Splits} split(s) applied, {Running} rollout(s) to resume")]
        public static partial void Restored(ILogger logger, string path, int splits, int running);
    }
}
