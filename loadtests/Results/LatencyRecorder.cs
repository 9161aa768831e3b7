using HdrHistogram;
using ServingGateway.LoadTool.Load;

namespace ServingGateway.LoadTool.Results;

/// <summary>
/// Collects the outcome of every request of a run, from any thread. Requests whose intended send
/// time is before the start of measurement are warm-up: counted, not recorded. The per-second
/// timeline is by completion time; only the current second keeps a histogram, earlier seconds are
/// summarised when the next one starts (a completion that loses the race to the lock by a few
/// microseconds at a second boundary is counted in the later second). Completions after the
/// planned duration count in its last second. With an SLO, a 2xx response whose latency is at most
/// the SLO counts as goodput, in total and in its second.
/// </summary>
/// <remarks>One lock guards everything: a record is a few histogram increments, far below the cost
/// of the HTTP request it describes.</remarks>
internal sealed class LatencyRecorder
{
    /// <summary>Distinct error reasons, X-Cache and X-Served-By values kept; the rest count as "(other)".</summary>
    public const int MaxDistinctValues = 100;

    private readonly Lock _lock = new();
    private readonly TimeProvider _timeProvider;
    private readonly long _measureStart;
    private readonly TimeSpan _plannedDuration;
    private readonly DateTimeOffset _startedAt;
    private readonly string[] _targetNames;
    private readonly LongHistogram _latency = LatencyDistribution.CreateHistogram();
    private readonly LongHistogram _service = LatencyDistribution.CreateHistogram();
    private readonly LongHistogram _second = LatencyDistribution.CreateHistogram();
    private readonly LongHistogram _secondSuccess = LatencyDistribution.CreateHistogram();
    private readonly LongHistogram _success = LatencyDistribution.CreateHistogram();
    private readonly LongHistogram _refusal = LatencyDistribution.CreateHistogram();
    private readonly LongHistogram _refusalService = LatencyDistribution.CreateHistogram();
    private readonly LongHistogram[] _targetLatency;
    private readonly long[] _targetFinished;
    private readonly long[] _targetErrors;
    private readonly List<TimelineSecond> _timeline = [];
    private readonly Dictionary<ErrorKey, long> _errors = [];
    private readonly Dictionary<ResponseStatus, long> _statuses = [];
    private readonly Dictionary<string, long> _cache = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _servedBy = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _versions = new(StringComparer.Ordinal);
    private Dictionary<string, long> _secondVersions = new(StringComparer.Ordinal);
    private readonly int _lastSecond;
    private readonly long? _sloMicros;
    private readonly TimeSpan? _slo;
    private int _currentSecond;
    private long _secondFinished;
    private long _secondErrors;
    private long _secondWithinSlo;
    private long _withinSlo;
    private long _finished;
    private long _responses;
    private long _successes;
    private long _failures;
    private long _warmup;
    private long _refusals;
    private long _refusalsWithRetryAfter;
    private long _lastCompleted;

    /// <param name="timeProvider">The clock whose timestamps are passed to <see cref="Record"/>.</param>
    /// <param name="measureStart">The timestamp at which measurement starts (after warm-up).</param>
    /// <param name="plannedDuration">The measured duration; the elapsed time is never shorter.</param>
    /// <param name="targetNames">The models of the run, indexed as <see cref="RequestOutcome.Target"/>.</param>
    /// <param name="slo">The latency a 2xx answer must keep to count as goodput; null: goodput not counted.</param>
    public LatencyRecorder(TimeProvider timeProvider, long measureStart, TimeSpan plannedDuration, IReadOnlyList<string> targetNames, TimeSpan? slo = null)
    {
        _slo = slo;
        _sloMicros = slo is { } s ? s.Ticks / TimeSpan.TicksPerMicrosecond : null;
        _timeProvider = timeProvider;
        _measureStart = measureStart;
        _plannedDuration = plannedDuration;
        _startedAt = timeProvider.GetUtcNow() + timeProvider.GetElapsedTime(timeProvider.GetTimestamp(), measureStart);
        _targetNames = [.. targetNames];
        _targetLatency = [.. _targetNames.Select(_ => LatencyDistribution.CreateHistogram())];
        _targetFinished = new long[_targetNames.Length];
        _targetErrors = new long[_targetNames.Length];
        _lastCompleted = measureStart;
        _lastSecond = Math.Max(0, (int)Math.Ceiling(plannedDuration.TotalSeconds) - 1);
    }

    /// <summary>
    /// Records one finished request. <paramref name="intended"/> is when it was meant to be sent
    /// (latency is measured from it), <paramref name="sent"/> when it was sent (service time), and
    /// <paramref name="completed"/> when its response was read to the end; all are timestamps.
    /// </summary>
    public void Record(long intended, long sent, long completed, in RequestOutcome outcome)
    {
        if (outcome.Aborted)
        {
            return;
        }

        lock (_lock)
        {
            if (intended < _measureStart)
            {
                _warmup++;
                return;
            }

            RollTo(SecondOf(completed));
            _lastCompleted = Math.Max(_lastCompleted, completed);
            _finished++;
            _secondFinished++;
            _targetFinished[outcome.Target]++;
            if (outcome.HasResponse)
            {
                var latency = ToMicros(completed - intended);
                _responses++;
                LatencyDistribution.Record(_latency, latency);
                LatencyDistribution.Record(_service, ToMicros(completed - sent));
                LatencyDistribution.Record(_second, latency);
                LatencyDistribution.Record(_targetLatency[outcome.Target], latency);
                Increment(_statuses, outcome.StatusCode);
                Increment(_cache, outcome.Cache ?? "(none)");
                Increment(_servedBy, outcome.ServedBy ?? "(none)");
                Increment(_versions, outcome.Version ?? "(none)");
                Increment(_secondVersions, outcome.Version ?? "(none)");
                if (outcome.IsSuccess)
                {
                    LatencyDistribution.Record(_success, latency);
                    LatencyDistribution.Record(_secondSuccess, latency);
                }
                else if (outcome.IsRefusal)
                {
                    LatencyDistribution.Record(_refusal, latency);
                    LatencyDistribution.Record(_refusalService, ToMicros(completed - sent));
                    _refusals++;
                    _refusalsWithRetryAfter += outcome.RetryAfter ? 1 : 0;
                }
            }
            else
            {
                _failures++;
            }

            if (outcome.IsSuccess)
            {
                _successes++;
                if (outcome.HasResponse && ToMicros(completed - intended) <= _sloMicros)
                {
                    _withinSlo++;
                    _secondWithinSlo++;
                }
            }
            else
            {
                _secondErrors++;
                _targetErrors[outcome.Target]++;
                Increment(_errors, new ErrorKey(outcome.StatusCode, outcome.Error ?? "unknown"), new ErrorKey(outcome.StatusCode, "(other)"));
            }
        }
    }

    /// <summary>What the live progress shows: counts so far and the last complete second.</summary>
    public ProgressSnapshot GetProgress(long now)
    {
        lock (_lock)
        {
            var elapsed = _timeProvider.GetElapsedTime(_measureStart, now);
            if (elapsed > TimeSpan.Zero)
            {
                RollTo(SecondOf(now));
            }

            return new ProgressSnapshot(
                elapsed,
                _warmup,
                _finished,
                _finished - _successes,
                _latency.TotalCount == 0 ? 0 : _latency.GetValueAtPercentile(99) / 1000.0,
                _timeline.Count == 0 ? null : _timeline[^1]);
        }
    }

    /// <summary>
    /// The results; call after the last request finished. The elapsed time runs to the last
    /// completion and is at least the planned duration, unless the run was
    /// <paramref name="stoppedEarly"/> (Ctrl+C): then it runs to <paramref name="now"/>.
    /// </summary>
    public RunSummary Summarize(long now, bool stoppedEarly)
    {
        lock (_lock)
        {
            var elapsed = stoppedEarly
                ? _timeProvider.GetElapsedTime(_measureStart, now)
                : _timeProvider.GetElapsedTime(_measureStart, _lastCompleted);
            if (!stoppedEarly && elapsed < _plannedDuration)
            {
                elapsed = _plannedDuration;
            }

            elapsed = elapsed < TimeSpan.Zero ? TimeSpan.Zero : elapsed;

            var timeline = new List<TimelineSecond>(_timeline);
            if (_secondFinished > 0 || timeline.Count < Math.Min(_lastSecond + 1, (int)Math.Ceiling(elapsed.TotalSeconds)))
            {
                timeline.Add(SummarizeSecond());
            }

            return new RunSummary
            {
                StartedAt = _startedAt,
                Elapsed = elapsed,
                Finished = _finished,
                Responses = _responses,
                Successes = _successes,
                Errors = _finished - _successes,
                WarmupRequests = _warmup,
                Latency = new LatencyDistribution(_latency.Copy()),
                ServiceTime = new LatencyDistribution(_service.Copy()),
                Targets = [.. _targetNames.Select((name, i) => new TargetSummary(name, _targetFinished[i], _targetErrors[i], new LatencyDistribution(_targetLatency[i].Copy())))],
                Timeline = timeline,
                ErrorCounts = new Dictionary<ErrorKey, long>(_errors),
                StatusCounts = new Dictionary<ResponseStatus, long>(_statuses),
                Cache = new Dictionary<string, long>(_cache, StringComparer.Ordinal),
                ServedBy = new Dictionary<string, long>(_servedBy, StringComparer.Ordinal),
                Versions = new Dictionary<string, long>(_versions, StringComparer.Ordinal),
                Slo = _slo,
                WithinSlo = _slo is null ? null : _withinSlo,
                SuccessLatency = new LatencyDistribution(_success.Copy()),
                RefusalLatency = new LatencyDistribution(_refusal.Copy()),
                RefusalServiceTime = new LatencyDistribution(_refusalService.Copy()),
                Refusals = _refusals,
                RefusalsWithRetryAfter = _refusalsWithRetryAfter,
            };
        }
    }

    // Completions after the planned end (the tail of the last requests) count in the last planned
    // second, so the timeline does not end with a nearly empty second that looks like a collapse.
    private int SecondOf(long timestamp) =>
        (int)Math.Clamp(_timeProvider.GetElapsedTime(_measureStart, timestamp).Ticks / TimeSpan.TicksPerSecond, 0, _lastSecond);

    private long ToMicros(long timestampDelta) =>
        _timeProvider.GetElapsedTime(0, timestampDelta).Ticks / TimeSpan.TicksPerMicrosecond;

    private void RollTo(int second)
    {
        while (_currentSecond < second)
        {
            _timeline.Add(SummarizeSecond());
            _second.Reset();
            _secondSuccess.Reset();
            _secondFinished = 0;
            _secondErrors = 0;
            _secondWithinSlo = 0;
            _secondVersions = new Dictionary<string, long>(StringComparer.Ordinal);
            _currentSecond++;
        }
    }

    private TimelineSecond SummarizeSecond()
    {
        var has = _second.TotalCount > 0;
        return new TimelineSecond(
            _currentSecond,
            _secondFinished,
            _secondErrors,
            has ? _second.GetValueAtPercentile(50) / 1000.0 : 0,
            has ? _second.GetValueAtPercentile(90) / 1000.0 : 0,
            has ? _second.GetValueAtPercentile(99) / 1000.0 : 0,
            has ? _second.GetMaxValue() / 1000.0 : 0,
            _slo is null ? null : _secondWithinSlo,
            _secondSuccess.TotalCount > 0 ? _secondSuccess.GetValueAtPercentile(99) / 1000.0 : 0,
            _secondVersions.Count > 0 ? new Dictionary<string, long>(_secondVersions, StringComparer.Ordinal) : null);
    }

    private static void Increment<TKey>(Dictionary<TKey, long> counts, TKey key, TKey other)
        where TKey : notnull
    {
        if (!counts.ContainsKey(key) && counts.Count >= MaxDistinctValues)
        {
            key = other;
        }

        counts[key] = counts.GetValueOrDefault(key) + 1;
    }

    private static void Increment(Dictionary<ResponseStatus, long> counts, ResponseStatus key) => counts[key] = counts.GetValueOrDefault(key) + 1;

    private static void Increment(Dictionary<string, long> counts, string key) => Increment(counts, key, "(other)");
}
