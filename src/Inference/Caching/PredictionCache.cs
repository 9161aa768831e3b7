using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Caching;

/// <summary>
/// The prediction cache in front of the batcher: the in-process tier, then Redis when configured, then a
/// run of the model. Concurrent identical misses run the model once (single flight): every waiter gets the
/// result, or the same error. What a miss computed is stored by the model's admission rule.
/// </summary>
/// <remarks>Ownership: owns its tiers and disposes them.</remarks>
internal sealed class PredictionCache : IDisposable
{
    private readonly ConcurrentDictionary<UInt128, Task<CachedPrediction>> _inFlight = new();
    private readonly NodeMetrics _metrics;
    private readonly TimeProvider _time;

    public PredictionCache(IOptions<CacheOptions> options, NodeMetrics metrics, TimeProvider time, ILogger<PredictionCache> logger)
    {
        var settings = options.Value;
        _metrics = metrics;
        _time = time;
        Memory = new MemoryCacheTier(settings.MemoryMb * 1024L * 1024L, settings.MaxEntries, time);
        Redis = string.IsNullOrWhiteSpace(settings.Redis) ? null : new RedisCacheTier(settings, time, logger, metrics);
        SeenKeys = new RotatingBloomFilter(settings.SecondHitExpectedKeys, settings.SecondHitFalsePositiveRate);
    }

    /// <summary>L1.</summary>
    public MemoryCacheTier Memory { get; }

    /// <summary>L2, when Cache:Redis is set.</summary>
    public RedisCacheTier? Redis { get; }

    /// <summary>The keys seen, for second-hit admission.</summary>
    public RotatingBloomFilter SeenKeys { get; }

    /// <summary>A timestamp of the cache's clock, to pass back to the methods that measure from it.</summary>
    public long GetTimestamp() => _time.GetTimestamp();

    /// <summary>
    /// The whole response for a byte-identical earlier request to <paramref name="version"/>, or null; counted as
    /// a memory hit. The lookup is measured from <paramref name="started"/> (taken before hashing the body).
    /// </summary>
    public CachedResponse? GetResponse(ModelVersion version, UInt128 exactKey, long started)
    {
        var response = Memory.GetResponse(exactKey);
        var elapsed = Nanoseconds(started);
        version.ResponseCosts.RecordLookup(elapsed);
        if (response is not null)
        {
            _metrics.RecordCacheLookup(version.ModelName, Memory.Name, hit: true);
            version.Statistics.CacheHit.Add(1, (long)elapsed);
        }

        return response;
    }

    /// <summary>
    /// Whether the response to a request that missed the byte-identical cache should be kept for its repeats,
    /// by the model's admission rule; <paramref name="computeStarted"/> is when its computation (parse,
    /// prediction, encoding: what a hit saves) began, and is measured now.
    /// </summary>
    public bool AdmitResponse(ModelVersion version, UInt128 exactKey, long computeStarted)
    {
        version.ResponseCosts.RecordSaved(Nanoseconds(computeStarted));
        return Admit(version.CachePolicy.Admission, version.ResponseCosts, exactKey);
    }

    /// <summary>Keeps the whole response of a request admitted by <see cref="AdmitResponse"/>; the store is measured from <paramref name="started"/> (taken before capturing it).</summary>
    public void SetResponse(ModelVersion version, UInt128 exactKey, CachedResponse response, long started)
    {
        Memory.SetResponse(exactKey, response, version.CachePolicy.TimeToLive);
        version.ResponseCosts.RecordStore(Nanoseconds(started));
    }

    /// <summary>The outputs of <paramref name="request"/> (the caller's to dispose) and where they came from.</summary>
    public async ValueTask<(PooledTensor[] Outputs, CacheOutcome Outcome)> InferAsync(ModelVersion version, InferRequest request, CancellationToken cancellationToken)
    {
        var policy = version.CachePolicy;
        if (!policy.Enabled)
        {
            return (await version.InferAsync(request, cancellationToken).ConfigureAwait(false), CacheOutcome.Bypass);
        }

        var started = _time.GetTimestamp();
        var key = CacheKey.Compute(version.CacheKeyPrefix, request, version.Signature);
        for (var attempt = 1; ; attempt++)
        {
            var local = await Memory.GetAsync(key, cancellationToken).ConfigureAwait(false);
            _metrics.RecordCacheLookup(version.ModelName, Memory.Name, local is not null);
            if (local is not null)
            {
                var elapsed = Nanoseconds(started);
                version.PredictionCosts.RecordLookup(elapsed);
                version.Statistics.CacheHit.Add(1, (long)elapsed);
                return (local.ToPooled(), CacheOutcome.HitMemory);
            }

            if (Redis is not null)
            {
                var shared = await Redis.GetAsync(key, cancellationToken).ConfigureAwait(false);
                if (shared is not null && !shared.Fits(request, version.Signature))
                {
                    _metrics.RecordCacheRejected(NodeMetrics.RejectedMismatch);
                    shared = null;
                }

                _metrics.RecordCacheLookup(version.ModelName, Redis.Name, shared is not null);
                if (shared is not null)
                {
                    Memory.Set(key, shared, policy.TimeToLive);
                    var elapsed = Nanoseconds(started);
                    version.PredictionCosts.RecordLookup(elapsed);
                    version.Statistics.CacheHit.Add(1, (long)elapsed);
                    return (shared.ToPooled(), CacheOutcome.HitRedis);
                }
            }

            var missed = Nanoseconds(started);
            version.PredictionCosts.RecordLookup(missed);
            version.Statistics.CacheMiss.Add(1, (long)missed);
            var flight = new TaskCompletionSource<CachedPrediction>(TaskCreationOptions.RunContinuationsAsynchronously);
            var running = _inFlight.GetOrAdd(key, flight.Task);
            if (running != flight.Task)
            {
                try
                {
                    var computed = await running.WaitAsync(cancellationToken).ConfigureAwait(false);
                    return (computed.ToPooled(), CacheOutcome.Miss);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && attempt < 3)
                {
                    continue; // the caller that was running it went away: look again, and run it if need be
                }
            }

            try
            {
                var computeStarted = _time.GetTimestamp();
                var outputs = await version.InferAsync(request, cancellationToken).ConfigureAwait(false);
                version.PredictionCosts.RecordSaved(Nanoseconds(computeStarted));
                var prediction = CachedPrediction.From(outputs);
                flight.SetResult(prediction);
                if (Admit(policy.Admission, version.PredictionCosts, key))
                {
                    var storeStarted = _time.GetTimestamp();
                    Memory.Set(key, prediction, policy.TimeToLive);
                    Redis?.Set(key, prediction, policy.TimeToLive);
                    version.PredictionCosts.RecordStore(Nanoseconds(storeStarted));
                }

                return (outputs, CacheOutcome.Miss);
            }
            catch (OperationCanceledException)
            {
                flight.TrySetCanceled(CancellationToken.None); // waiters were not cancelled: they look again
                throw;
            }
            catch (Exception ex)
            {
                flight.TrySetException(ex);
                throw;
            }
            finally
            {
                _inFlight.TryRemove(new KeyValuePair<UInt128, Task<CachedPrediction>>(key, flight.Task));
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Memory.Dispose();
        Redis?.Dispose();
    }

    // The one admission decision, for predictions and whole responses alike (docs/CACHING.md).
    private bool Admit(CacheAdmission admission, CacheCostMeter costs, UInt128 key) => admission switch
    {
        CacheAdmission.Always => true,
        CacheAdmission.SecondHit => SeenKeys.CheckAndAdd(key),
        _ => SeenKeys.CheckAndAdd(key) && costs.Pays(),
    };

    // Nanoseconds since a timestamp of this cache's clock, without TimeSpan's 100 ns rounding.
    private double Nanoseconds(long started) => (_time.GetTimestamp() - started) * (1e9 / _time.TimestampFrequency);
}
