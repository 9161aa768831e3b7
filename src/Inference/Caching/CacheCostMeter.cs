namespace ServingGateway.Inference.Caching;

/// <summary>
/// The cost test of <see cref="CacheAdmission.Auto"/> for one cache of one model version: what a hit saves
/// (measured on every computed miss) against what the cache itself costs a request (a lookup, measured on
/// every lookup, plus a store, measured on every store). Entries are worth storing only while the saving
/// is larger. Averages are exponentially weighted (the plain mean over the first <see cref="WarmUpSamples"/>),
/// so the test follows the load; updates are lock-free and may lose a sample under contention, which an
/// average can afford.
/// </summary>
internal sealed class CacheCostMeter
{
    /// <summary>Samples of each kind before the test decides; until then entries are stored, so the store is measured.</summary>
    public const int WarmUpSamples = 16;

    /// <summary>While the test refuses, one entry in this many is stored anyway, so the store cost stays measured as the load changes.</summary>
    public const int ExploreEvery = 64;

    private readonly Average _saved = new();
    private readonly Average _lookup = new();
    private readonly Average _store = new();
    private readonly Average _sighting = new();
    private long _refused;

    /// <summary>The average nanoseconds a hit saves: the computation it replaces.</summary>
    public double SavedNanoseconds => _saved.Value;

    /// <summary>The average nanoseconds of a lookup.</summary>
    public double LookupNanoseconds => _lookup.Value;

    /// <summary>The average nanoseconds of a store.</summary>
    public double StoreNanoseconds => _store.Value;

    /// <summary>The average nanoseconds of an admission check of a miss (the Bloom filter's second-sighting test).</summary>
    public double SightingNanoseconds => _sighting.Value;

    /// <summary>
    /// Whether what a hit saves and what a lookup costs are measured (<see cref="WarmUpSamples"/> samples each),
    /// so that <see cref="CacheLookupGate"/> may weigh them.
    /// </summary>
    public bool IsMeasured => _saved.Count >= WarmUpSamples && _lookup.Count >= WarmUpSamples;

    /// <summary>Records the nanoseconds of one computation that a hit would have replaced.</summary>
    public void RecordSaved(double nanoseconds) => _saved.Add(nanoseconds);

    /// <summary>Records the nanoseconds of one lookup, hit or miss.</summary>
    public void RecordLookup(double nanoseconds) => _lookup.Add(nanoseconds);

    /// <summary>Records the nanoseconds of one admission check of a miss.</summary>
    public void RecordSighting(double nanoseconds) => _sighting.Add(nanoseconds);

    /// <summary>Records the nanoseconds of one store.</summary>
    public void RecordStore(double nanoseconds) => _store.Add(nanoseconds);

    /// <summary>
    /// Whether an entry is worth storing now: until each cost has <see cref="WarmUpSamples"/> samples, yes;
    /// then when the saving is larger than a lookup and a store together; otherwise one in <see cref="ExploreEvery"/>.
    /// </summary>
    public bool Pays()
    {
        if (_saved.Count < WarmUpSamples || _lookup.Count < WarmUpSamples || _store.Count < WarmUpSamples)
        {
            return true;
        }

        if (_saved.Value > _lookup.Value + _store.Value)
        {
            return true;
        }

        return Interlocked.Increment(ref _refused) % ExploreEvery == 0;
    }

    // Mean of the first WarmUpSamples samples, then an exponentially weighted average with that weight.
    private sealed class Average
    {
        private long _count;
        private double _value;

        public long Count => Volatile.Read(ref _count);

        public double Value => Volatile.Read(ref _value);

        public void Add(double sample)
        {
            var n = Interlocked.Increment(ref _count);
            var weight = 1.0 / Math.Min(n, WarmUpSamples);
            var current = Volatile.Read(ref _value);
            Volatile.Write(ref _value, current + (weight * (sample - current)));
        }
    }
}
