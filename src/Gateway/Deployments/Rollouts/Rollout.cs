using System.Globalization;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// One model's rollout as a synchronous state machine: each method takes the time (and the window's readings) and
/// returns what the driver must do (<see cref="RolloutActions"/>); nothing here waits, loads or reads a clock. Not
/// thread-safe: <see cref="RolloutDriver"/> calls it under its lock.
/// </summary>
/// <remarks>
/// Canary: step i gives the new version Steps[i] percent; passing the step before 100 promotes (the split goes
/// all-new, the old version is unloaded). Blue-green: one window with the new version as a 0% shadow, then 0 -> 100.
/// A window with fewer than min_requests answers of the new version is extended by step_seconds, at most
/// <see cref="MaxExtensions"/> times, then rolled back. Failing a bound rolls back at once to all-current.
/// </remarks>
internal sealed class Rollout
{
    /// <summary>How many times a step short of min_requests is extended (by step_seconds each) before it is rolled back.</summary>
    public const int MaxExtensions = 3;

    private readonly List<RolloutDecision> _decisions;

    /// <summary>A rollout as it was persisted: restored by <see cref="RolloutStore"/>.</summary>
    public Rollout(
        string model, RolloutSpec spec, long current, RolloutState state, int step, int extensions,
        DateTimeOffset started, DateTimeOffset stepEnds, IEnumerable<RolloutDecision> decisions)
    {
        Model = model;
        Spec = spec;
        Current = current;
        State = state;
        Step = step;
        Extensions = extensions;
        Started = started;
        StepEnds = stepEnds;
        _decisions = [.. decisions];
    }

    /// <summary>The model rolled out.</summary>
    public string Model { get; }

    /// <summary>What was asked for.</summary>
    public RolloutSpec Spec { get; }

    /// <summary>The version serving before the rollout: what a rollback returns to.</summary>
    public long Current { get; }

    /// <summary>The new version.</summary>
    public long New => Spec.Version;

    /// <summary>Where it stands.</summary>
    public RolloutState State { get; private set; }

    /// <summary>The index of the live step in <see cref="RolloutSpec.Steps"/> (blue-green: 0); -1 before the first.</summary>
    public int Step { get; private set; }

    /// <summary>How often the live step was extended for too few requests.</summary>
    public int Extensions { get; private set; }

    /// <summary>When it was asked for.</summary>
    public DateTimeOffset Started { get; }

    /// <summary>When the live step's window is judged.</summary>
    public DateTimeOffset StepEnds { get; private set; }

    /// <summary>Whether it is final (promoted, rolled back or failed).</summary>
    public bool IsFinished => State is RolloutState.Promoted or RolloutState.RolledBack or RolloutState.Failed;

    /// <summary>Every decision so far, oldest first.</summary>
    public IReadOnlyList<RolloutDecision> Decisions => _decisions;

    /// <summary>The percent of traffic the new version gets now.</summary>
    public int Percent => State switch
    {
        RolloutState.Promoted => 100,
        RolloutState.Analyzing or RolloutState.Paused when Step >= 0 && Spec.Strategy == RolloutStrategy.Canary => Spec.Steps[Step],
        _ => 0,
    };

    /// <summary>
    /// A new rollout of <paramref name="spec"/> over <paramref name="current"/>: all traffic on the current version
    /// (so that loading a higher version takes none by itself), then both versions served.
    /// </summary>
    public static (Rollout Rollout, RolloutActions Actions) Start(string model, RolloutSpec spec, long current, DateTimeOffset now, string by)
    {
        var rollout = new Rollout(model, spec, current, RolloutState.Loading, -1, 0, now, now, []);
        var decision = rollout.Decide(now, by, "start", $"{Describe(spec)} of version {spec.Version} over version {current}", null, null);
        return (rollout, new RolloutActions(TrafficSplit.All(current), false, [current, spec.Version], decision, Loading: true));
    }

    /// <summary>
    /// After a restart of the process driving it: an unfinished rollout loads both versions again (a paused one stays
    /// paused); once loaded, its step's window restarts.
    /// </summary>
    public RolloutActions Restarted(DateTimeOffset now)
    {
        if (IsFinished)
        {
            return RolloutActions.None;
        }

        if (State == RolloutState.Analyzing)
        {
            State = RolloutState.Loading;
        }

        var decision = Decide(now, RolloutDecision.Controller, "resume_after_restart",
            $"the process restarted at step {Math.Max(Step, 0) + 1}; loading versions {Current} and {New} again, then the window restarts", null, null);
        return new RolloutActions(null, false, [Current, New], decision, Loading: true);
    }

    /// <summary>Both versions are loaded and warmed: the first step starts (or, after a restart, the step it was at).</summary>
    public RolloutActions Loaded(DateTimeOffset now)
    {
        if (State != RolloutState.Loading)
        {
            return RolloutActions.None; // paused meanwhile (it stays so), or rolled back while loading
        }

        State = RolloutState.Analyzing;
        return EnterStep(Math.Max(Step, 0), now, RolloutDecision.Controller, "loaded", $"versions {Current} and {New} loaded and warmed");
    }

    /// <summary>The new version could not be loaded: all traffic on the current one, which alone is served.</summary>
    public RolloutActions LoadFailed(DateTimeOffset now, string reason)
    {
        if (IsFinished)
        {
            return RolloutActions.None;
        }

        State = RolloutState.Failed;
        var decision = Decide(now, RolloutDecision.Controller, "load_failed", reason, null, null);
        return new RolloutActions(TrafficSplit.All(Current), false, [Current], decision);
    }

    /// <summary>
    /// A tick of the driver: when the live step's window has ended, judges it on <paramref name="newVersion"/> and
    /// <paramref name="current"/> (the readings of both versions since the step started) and moves on, extends it or
    /// rolls back. Before the window ends, or in any other state: nothing.
    /// </summary>
    public RolloutActions Tick(DateTimeOffset now, VersionEvidence newVersion, VersionEvidence current)
    {
        if (State != RolloutState.Analyzing || now < StepEnds)
        {
            return RolloutActions.None;
        }

        var verdict = RolloutJudge.Judge(Spec.Analysis, newVersion, current, Spec.Analysis.MaxOutputDivergence is not null);
        if (verdict.Failure is { } failure)
        {
            return RollBack(now, RolloutDecision.Controller, failure, newVersion, current);
        }

        if (verdict.TooFew is { } tooFew)
        {
            if (Extensions >= MaxExtensions)
            {
                return RollBack(now, RolloutDecision.Controller,
                    $"{tooFew} after {MaxExtensions} extensions of {Spec.StepSeconds} s", newVersion, current);
            }

            Extensions++;
            StepEnds = now.AddSeconds(Spec.StepSeconds);
            var extended = Decide(now, RolloutDecision.Controller, "extend",
                $"{tooFew}: step extended by {Spec.StepSeconds} s ({Extensions} of {MaxExtensions})", newVersion, current);
            return new RolloutActions(null, false, null, extended);
        }

        return Advance(now, RolloutDecision.Controller, $"analysis passed: {verdict.Summary}", newVersion, current);
    }

    /// <summary>An operator's promote: all traffic to the new version at once, whatever the step; the old version drains.</summary>
    /// <exception cref="DeploymentException">409 unless analyzing or paused.</exception>
    public RolloutActions Promote(DateTimeOffset now, string by, VersionEvidence newVersion, VersionEvidence current)
    {
        Require(RolloutState.Analyzing, RolloutState.Paused, "promote");
        return Promoted(now, by, "promoted by an operator", newVersion, current);
    }

    /// <summary>An operator's rollback: all traffic back on the current version, the new one unloaded.</summary>
    /// <exception cref="DeploymentException">409 for a finished rollout.</exception>
    public RolloutActions Rollback(DateTimeOffset now, string by, VersionEvidence newVersion, VersionEvidence current)
    {
        if (IsFinished)
        {
            throw new DeploymentException(StatusCodes.Status409Conflict, $"the rollout of '{Model}' is already {RolloutJson.StateName(State)}");
        }

        return RollBack(now, by, "rolled back by an operator", newVersion, current);
    }

    /// <summary>An operator's pause: the split stays as it is and no window is judged until resumed.</summary>
    /// <exception cref="DeploymentException">409 unless analyzing.</exception>
    public RolloutActions Pause(DateTimeOffset now, string by)
    {
        Require(RolloutState.Analyzing, RolloutState.Analyzing, "pause");
        State = RolloutState.Paused;
        return new RolloutActions(null, false, null, Decide(now, by, "pause", "paused by an operator", null, null));
    }

    /// <summary>An operator's resume: the live step's window restarts.</summary>
    /// <exception cref="DeploymentException">409 unless paused.</exception>
    public RolloutActions Resume(DateTimeOffset now, string by)
    {
        Require(RolloutState.Paused, RolloutState.Paused, "resume");
        State = RolloutState.Analyzing;
        return EnterStep(Math.Max(Step, 0), now, by, "resume", "resumed by an operator; the step's window restarts");
    }

    /// <summary>The split the rollout's state calls for (what a restart applies before traffic).</summary>
    public TrafficSplit Split => State switch
    {
        RolloutState.Promoted => TrafficSplit.All(New),
        RolloutState.Analyzing or RolloutState.Paused when Step >= 0 => StepSplit(Step),
        _ => TrafficSplit.All(Current),
    };

    private RolloutActions Advance(DateTimeOffset now, string by, string reason, VersionEvidence? newVersion, VersionEvidence? current)
    {
        var next = Step + 1;
        return Spec.Strategy == RolloutStrategy.BlueGreen || next >= Spec.Steps.Count || Spec.Steps[next] >= 100
            ? Promoted(now, by, reason, newVersion, current)
            : EnterStep(next, now, by, "step", reason);
    }

    private RolloutActions Promoted(DateTimeOffset now, string by, string reason, VersionEvidence? newVersion, VersionEvidence? current)
    {
        State = RolloutState.Promoted;
        var decision = Decide(now, by, "promote", reason + $"; all traffic to version {New}, version {Current} drains", newVersion, current);
        return new RolloutActions(TrafficSplit.All(New), false, [New], decision);
    }

    private RolloutActions EnterStep(int step, DateTimeOffset now, string by, string action, string reason)
    {
        Step = step;
        Extensions = 0;
        StepEnds = now.AddSeconds(Spec.StepSeconds);
        var split = StepSplit(step);
        var decision = Decide(now, by, action,
            reason + $"; step {step + 1} of {StepCount}: {Percent}% to version {New} for {Spec.StepSeconds} s", null, null);
        return new RolloutActions(split, true, null, decision);
    }

    private RolloutActions RollBack(DateTimeOffset now, string by, string reason, VersionEvidence? newVersion, VersionEvidence? current)
    {
        State = RolloutState.RolledBack;
        var decision = Decide(now, by, "rollback", reason + $"; all traffic to version {Current}, version {New} unloaded", newVersion, current);
        return new RolloutActions(TrafficSplit.All(Current), false, [Current], decision);
    }

    private TrafficSplit StepSplit(int step)
    {
        var percent = Spec.Strategy == RolloutStrategy.Canary ? Spec.Steps[step] : 0;
        var shadow = Spec.Shadowed ? new ShadowMirror(New, Spec.SampleRatio) : null;
        return percent == 0
            ? TrafficSplit.All(Current) with { Shadow = shadow }
            : new TrafficSplit([new VersionShare(Current, 100 - percent), new VersionShare(New, percent)], shadow);
    }

    private int StepCount => Spec.Strategy == RolloutStrategy.Canary ? Spec.Steps.Count : 1;

    private void Require(RolloutState one, RolloutState other, string action)
    {
        if (State != one && State != other)
        {
            throw new DeploymentException(StatusCodes.Status409Conflict, $"cannot {action} the rollout of '{Model}' while it is {RolloutJson.StateName(State)}");
        }
    }

    private RolloutDecision Decide(DateTimeOffset now, string by, string action, string reason, VersionEvidence? newVersion, VersionEvidence? current)
    {
        var decision = new RolloutDecision(now, by, action, Percent, reason, newVersion, current);
        _decisions.Add(decision);
        return decision;
    }

    private static string Describe(RolloutSpec spec) => spec.Strategy == RolloutStrategy.Canary
        ? $"canary [{string.Join(", ", spec.Steps.Select(s => s.ToString(CultureInfo.InvariantCulture)))}] of {spec.StepSeconds} s steps"
        : $"blue-green with a {spec.StepSeconds} s shadow window";
}
