using ServingGateway.Inference;
using ServingGateway.Inference.Metrics;

namespace ServingGateway.Observability;

/// <summary>
/// The status page's memory: per model version, a ring of the last <see cref="Length"/> samples, one taken every
/// <see cref="SamplePeriod"/> by <see cref="StatusSampler"/> (10 minutes in all), so a page opened late still shows
/// the last minutes. Each sample is the difference of two readings of the node's own counters
/// (<see cref="NodeReadings"/>: statistics, latency buckets, batcher queue, cache, drift); nothing is measured
/// twice. Memory is bounded: <see cref="Length"/> samples per version in the repository index, and a version that
/// leaves the index is forgotten. Thread-safe.
/// </summary>
internal sealed class StatusHistory
{
    /// <summary>How often a sample is taken.</summary>
    public static readonly TimeSpan SamplePeriod = TimeSpan.FromSeconds(5);

    /// <summary>Samples kept per model version.</summary>
    public const int Length = 120;

    private readonly Func<IReadOnlyList<VersionReading>> _read;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private Dictionary<(string Model, string? Version), Series> _series = [];
    private List<(string Model, string? Version)> _order = [];
    private long? _lastSample;

    public StatusHistory(Func<IReadOnlyList<VersionReading>> read, TimeProvider time)
    {
        _read = read;
        _time = time;
    }

    /// <summary>Reads the node's counters and adds one sample per resident version: what changed since the last reading.</summary>
    public void Sample()
    {
        var readings = _read();
        var timestamp = _time.GetTimestamp();
        var unixMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_gate)
        {
            var since = _lastSample;
            _lastSample = timestamp;
            var series = new Dictionary<(string, string?), Series>(readings.Count);
            var order = new List<(string, string?)>(readings.Count);
            foreach (var reading in readings)
            {
                var key = (reading.Model, reading.Version);
                if (!series.TryAdd(key, _series.TryGetValue(key, out var known) ? known : new Series()))
                {
                    continue;
                }

                order.Add(key);
                series[key].Observe(reading, timestamp, since, unixMs, _time.TimestampFrequency);
            }

            _series = series;
            _order = order;
        }
    }

    /// <summary>
    /// Every version as the node reads it now (its state and counters: the table is current, not up to a sample period
    /// old), in the index's order, with the samples of its history oldest first (none yet for a version the loop has
    /// not sampled). Falls back to the last sample's readings when reading now fails.
    /// </summary>
    public IReadOnlyList<StatusSeries> Current()
    {
        IReadOnlyList<VersionReading>? now;
        try
        {
            now = _read();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            now = null; // the sampler logs what a reading failure is; the page keeps the last sample's table
        }

        lock (_gate)
        {
            if (now is null)
            {
                return SnapshotLocked();
            }

            return [.. now.DistinctBy(r => (r.Model, r.Version)).Select(r => new StatusSeries(
                r, _series.TryGetValue((r.Model, r.Version), out var sampled) ? sampled.Ring.ToArray() : []))];
        }
    }

    /// <summary>Every version of the last sample, in the index's order, with its samples oldest first.</summary>
    public IReadOnlyList<StatusSeries> Snapshot()
    {
        lock (_gate)
        {
            return SnapshotLocked();
        }
    }

    private StatusSeries[] SnapshotLocked() => [.. _order.Select(key => _series[key]).Select(s => new StatusSeries(s.Latest, s.Ring.ToArray()))];

    // One version's ring and its last reading (the baseline of the next sample).
    private sealed class Series
    {
        private long _timestamp;
        private bool _observed;

        public StatusRing Ring { get; } = new(Length);

        public VersionReading Latest { get; private set; }

        public void Observe(VersionReading reading, long timestamp, long? lastSample, long unixMs, long frequency)
        {
            var previous = Latest;
            var hadBaseline = _observed && previous.Resident;
            var elapsedSeconds = (timestamp - _timestamp) / (double)frequency;
            Latest = reading;
            _timestamp = timestamp;
            _observed = true;
            if (!reading.Resident)
            {
                return; // nothing counts while it is not resident; it counts from zero again when it is
            }

            var fromZero = !hadBaseline;
            if (fromZero)
            {
                if (lastSample is not { } since || timestamp <= since)
                {
                    return; // the history's first reading is the baseline: what it counted happened before the history began
                }

                // Loaded (or made resident again) since the last sample: its counters started at zero then, so all they
                // hold happened within this period.
                previous = default;
                elapsedSeconds = (timestamp - since) / (double)frequency;
            }

            if (elapsedSeconds <= 0)
            {
                return;
            }

            // Counters start again from zero when a version loads again: a drop means everything now counted is new.
            var reset = fromZero || reading.Successes < previous.Successes || reading.Failures < previous.Failures
                || reading.CacheHits < previous.CacheHits || reading.CacheMisses < previous.CacheMisses
                || reading.LatencyCounts.Count != previous.LatencyCounts.Count;
            var before = reset ? default : previous;
            var finished = reading.Successes + reading.Failures - before.Successes - before.Failures;
            var hits = reading.CacheHits - before.CacheHits;
            var lookups = hits + reading.CacheMisses - before.CacheMisses;
            Span<long> latency = stackalloc long[LatencyBuckets.Count];
            for (var i = 0; i < latency.Length && i < reading.LatencyCounts.Count; i++)
            {
                latency[i] = reading.LatencyCounts[i] - (reset || i >= previous.LatencyCounts.Count ? 0 : previous.LatencyCounts[i]);
            }

            Ring.Add(new StatusSample(
                unixMs,
                finished / elapsedSeconds,
                LatencyBuckets.QuantileMs(latency, 0.5),
                LatencyBuckets.QuantileMs(latency, 0.99),
                reading.QueuedRows,
                lookups > 0 ? hits / (double)lookups : null,
                reading.DriftPsi));
        }
    }
}
