namespace ServingGateway.Inference.Caching;

/// <summary>
/// Whether one model version's cache is worth looking in at all (<c>Cache:PauseUnprofitable</c>): the one place
/// that decides to pause the cache, consulted by the serving pipeline before it hashes a request. Every
/// window (<c>Cache:PauseWindowSeconds</c>) with at least <see cref="DecisionSamples"/> lookups it weighs the expected
/// saving of a lookup (the measured hit ratios of the window times what a hit saved: parse, prediction and
/// encoding for a byte-identical response, the prediction for a tensor hit) against what a lookup costs
/// (the measured hashing and lookup of both caches plus their second-sighting checks). While the saving is
/// not larger the cache is paused: requests skip the hashing, the Bloom filter and the lookups, as with the
/// cache off, except one in <see cref="CacheBypassSettings.SampleEvery"/>, which still looks up, is sighted
/// and stored as admission says, so that a workload turning repetitive raises the sampled hit ratio and the
/// next decision turns the cache back on.
/// </summary>
/// <remarks>
/// With every input distinct (the normal case) no lookup ever hits, so the saving is 0 and the cache pauses after
/// one window; with 90% repeats hits save milliseconds against microseconds of lookup, so it stays on. No decision
/// is taken before the response cache's costs are measured (<see cref="CacheCostMeter.WarmUpSamples"/>). Counters
/// are updated lock-free; one thread at a time decides, and a sample lost to a race does not move a ratio.
/// </remarks>
internal sealed class CacheLookupGate
{
    /// <summary>Lookups a window needs before it decides: a window with fewer goes on collecting.</summary>
    public const int DecisionSamples = 64;

    /// <summary>
    /// A paused cache resumes only when the saving is this many times the cost (it pauses when the saving is not more
    /// than the cost): a stray hit (a Bloom false positive stored, a repeat by chance) whose saving is dominated by
    /// the queue wait must not flip it back and forth.
    /// </summary>
    public const double ResumeFactor = 2;

    private readonly CacheCostMeter _responses;
    private readonly CacheCostMeter _predictions;
    private readonly Lock _decide = new();
    private long _windowStarted = long.MinValue;
    private long _lookups;
    private long _responseHits;
    private long _predictionHits;
    private long _sample;
    private volatile bool _paused;

    /// <summary>A gate over the cost figures of a version's response cache and prediction cache.</summary>
    public CacheLookupGate(CacheCostMeter responses, CacheCostMeter predictions)
    {
        _responses = responses;
        _predictions = predictions;
    }

    /// <summary>Whether lookups are paused now (all but the sampled requests skip the cache).</summary>
    public bool Paused => _paused;

    /// <summary>
    /// Whether this request looks in the cache: always while the cache is on; one request in
    /// <see cref="CacheBypassSettings.SampleEvery"/> while it is paused.
    /// </summary>
    public bool ShouldLookUp(CacheBypassSettings settings) =>
        !_paused || Interlocked.Increment(ref _sample) % settings.SampleEvery == 0;

    /// <summary>
    /// Records one request that looked in the cache: whether the byte-identical response cache answered it, or
    /// else the prediction cache; at <paramref name="timestamp"/> (of the pipeline's clock) decides when a window
    /// is complete. Returns the decision when it changed the state (paused or resumed), else null.
    /// </summary>
    public CacheLookupDecision? Record(bool responseHit, bool predictionHit, long timestamp, CacheBypassSettings settings)
    {
        Interlocked.Increment(ref _lookups);
        if (responseHit)
        {
            Interlocked.Increment(ref _responseHits);
        }
        else if (predictionHit)
        {
            Interlocked.Increment(ref _predictionHits);
        }

        var started = Volatile.Read(ref _windowStarted);
        if (started == long.MinValue)
        {
            Interlocked.CompareExchange(ref _windowStarted, timestamp, long.MinValue);
            return null;
        }

        if (!settings.Enabled || timestamp - started < settings.WindowTimestampTicks || Volatile.Read(ref _lookups) < DecisionSamples || !_decide.TryEnter())
        {
            return null;
        }

        try
        {
            return Decide(timestamp);
        }
        finally
        {
            _decide.Exit();
        }
    }

    // Under _decide: weighs the window's figures, starts a new window, and returns the decision if it changes the state.
    private CacheLookupDecision? Decide(long timestamp)
    {
        if (Volatile.Read(ref _lookups) < DecisionSamples)
        {
            return null; // another thread decided this window a moment ago
        }

        if (!_responses.IsMeasured)
        {
            return null; // nothing known yet of what a hit saves or a lookup costs: stay as we are
        }

        var lookups = (double)Interlocked.Exchange(ref _lookups, 0);
        var responseHits = Interlocked.Exchange(ref _responseHits, 0) / lookups;
        var predictionHits = Interlocked.Exchange(ref _predictionHits, 0) / lookups;
        Volatile.Write(ref _windowStarted, timestamp);

        var saving = (responseHits * _responses.SavedNanoseconds) + (predictionHits * _predictions.SavedNanoseconds);
        var cost = _responses.LookupNanoseconds + _responses.SightingNanoseconds
            + ((1 - responseHits) * (_predictions.LookupNanoseconds + _predictions.SightingNanoseconds));
        var pause = _paused ? saving <= ResumeFactor * cost : saving <= cost;
        if (pause == _paused)
        {
            return null;
        }

        _paused = pause;
        return new CacheLookupDecision(pause, responseHits + predictionHits, saving, cost);
    }
}
