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
        Memory = new MemoryCacheTier(settings.MemoryMb * 1024L * 1024L, time);
        Redis = string.IsNullOrWhiteSpace(settings.Redis) ? null : new RedisCacheTier(settings, time, logger, metrics);
        SeenKeys = new RotatingBloomFilter(settings.SecondHitExpectedKeys, settings.SecondHitFalsePositiveRate);
    }

    /// <summary>L1.</summary>
    public MemoryCacheTier Memory { get; }

    /// <summary>L2, when Cache:Redis is set.</summary>
    public RedisCacheTier? Redis { get; }

    /// <summary>The keys seen, for second-hit admission.</summary>
    public RotatingBloomFilter SeenKeys { get; }

    /// <summary>The whole response for a byte-identical earlier request to <paramref name="version"/>, or null; counted as a memory hit.</summary>
    public CachedResponse? GetResponse(ModelVersion version, UInt128 exactKey)
    {
        var started = _time.GetTimestamp();
        var response = Memory.GetResponse(exactKey);
        if (response is not null)
        {
            _metrics.RecordCacheLookup(version.ModelName, Memory.Name, hit: true);
            version.Statistics.CacheHit.Add(1, Nanoseconds(started));
        }

        return response;
    }

    /// <summary>Keeps the whole response of a request whose prediction is cached, for its byte-identical repeats.</summary>
    public void SetResponse(ModelVersion version, UInt128 exactKey, CachedResponse response) =>
        Memory.SetResponse(exactKey, response, version.CachePolicy.TimeToLive);

    /// <summary>
    /// The outputs of <paramref name="request"/> (the caller's to dispose), where they came from, and whether
    /// the prediction is now in the in-process tier (so its whole response may be kept too).
    /// </summary>
    public async ValueTask<(PooledTensor[] Outputs, CacheOutcome Outcome, bool Cached)> InferAsync(ModelVersion version, InferRequest request, CancellationToken cancellationToken)
    {
        var policy = version.CachePolicy;
        if (!policy.Enabled)
        {
            return (await version.InferAsync(request, cancellationToken).ConfigureAwait(false), CacheOutcome.Bypass, false);
        }

        var started = _time.GetTimestamp();
        var key = CacheKey.Compute(version.CacheKeyPrefix, request, version.Signature);
        for (var attempt = 1; ; attempt++)
        {
            var local = await Memory.GetAsync(key, cancellationToken).ConfigureAwait(false);
            _metrics.RecordCacheLookup(version.ModelName, Memory.Name, local is not null);
            if (local is not null)
            {
                version.Statistics.CacheHit.Add(1, Nanoseconds(started));
                return (local.ToPooled(), CacheOutcome.HitMemory, true);
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
                    version.Statistics.CacheHit.Add(1, Nanoseconds(started));
                    return (shared.ToPooled(), CacheOutcome.HitRedis, true);
                }
            }

            version.Statistics.CacheMiss.Add(1, Nanoseconds(started));
            var flight = new TaskCompletionSource<CachedPrediction>(TaskCreationOptions.RunContinuationsAsynchronously);
            var running = _inFlight.GetOrAdd(key, flight.Task);
            if (running != flight.Task)
            {
                try
                {
                    var computed = await running.WaitAsync(cancellationToken).ConfigureAwait(false);
                    return (computed.ToPooled(), CacheOutcome.Miss, false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && attempt < 3)
                {
                    continue; // the caller that was running it went away: look again, and run it if need be
                }
            }

            try
            {
                var outputs = await version.InferAsync(request, cancellationToken).ConfigureAwait(false);
                var prediction = CachedPrediction.From(outputs);
                flight.SetResult(prediction);
                var admitted = policy.Admission == CacheAdmission.Always || SeenKeys.CheckAndAdd(key);
                if (admitted)
                {
                    Memory.Set(key, prediction, policy.TimeToLive);
                    Redis?.Set(key, prediction, policy.TimeToLive);
                }

                return (outputs, CacheOutcome.Miss, admitted);
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

    private long Nanoseconds(long started) => (long)(_time.GetElapsedTime(started).TotalMilliseconds * 1_000_000);
}
