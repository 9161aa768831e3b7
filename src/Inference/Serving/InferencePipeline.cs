using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServingGateway.Inference.Buffers;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Serving;

/// <summary>
/// Serving: the path of one infer request, end to end: resolve the version -> the byte-identical response
/// cache -> decode -> the prediction cache -> the batcher -> encode. The one place that records a request's
/// statistics (Triton's success, fail, cache hit and miss), its node metrics and the cache's cost
/// timings, all on one clock (<see cref="TimeProvider"/>); the batch runner records the batch phases.
/// </summary>
/// <remarks>
/// Concurrent identical prediction misses run the model once (single flight): every waiter gets the
/// result, or the same error. The caches only store; the pipeline asks the version's <see cref="CacheLookupGate"/>
/// whether to look at all and <see cref="PredictionCache.Admit"/> what to keep.
/// </remarks>
internal sealed partial class InferencePipeline
{
    /// <summary>The request and response header of the binary tensor data extension.</summary>
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";

    /// <summary>The response header with the milliseconds a request waited for its version to be loaded (multiplexing).</summary>
    public const string ModelLoadHeader = "X-Model-Load-Ms";

    private readonly ConcurrentDictionary<UInt128, Task<CachedPrediction>> _inFlight = new();
    private readonly ModelRepository _repository;
    private readonly PredictionCache _cache;
    private readonly NodeMetrics _metrics;
    private readonly RequestBodyBudget _budget;
    private readonly InferenceOptions _options;
    private readonly TimeProvider _time;
    private readonly CacheBypassSettings _bypass;
    private readonly ILogger<InferencePipeline> _logger;

    public InferencePipeline(ModelRepository repository, PredictionCache cache, NodeMetrics metrics, RequestBodyBudget budget, IOptions<InferenceOptions> options,
        IOptions<CacheOptions> cacheOptions, TimeProvider time, ILogger<InferencePipeline> logger)
    {
        _bypass = CacheBypassSettings.From(cacheOptions.Value, time);
        _logger = logger;
        _repository = repository;
        _cache = cache;
        _metrics = metrics;
        _budget = budget;
        _options = options.Value;
        _time = time;
    }

    /// <summary>
    /// Answers an infer request to <paramref name="name"/> (version <paramref name="versionText"/>, or the
    /// highest ready) whose body <paramref name="request"/> carries. The caller writes the reply and then
    /// disposes it, which records the request as a success.
    /// </summary>
    /// <exception cref="InferenceException">The request fails with that status (recorded as such).</exception>
    /// <exception cref="BadHttpRequestException">The body could not be read (recorded with its status).</exception>
    public async ValueTask<InferReply> InferAsync(string name, string? versionText, HttpRequest request, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        ModelHost? model = null;
        var span = InferenceTelemetry.RequestSpan();
        span?.SetTag("model", name);
        try
        {
            var acquiring = _repository.AcquireAsync(name, versionText, cancellationToken);
            if (acquiring.IsCompletedSuccessfully)
            {
                model = acquiring.Result;
            }
            else
            {
                // Not resident: the request waited for its version to load (Inference:MaxResidentModels).
                var waitStarted = _time.GetTimestamp();
                model = await acquiring.ConfigureAwait(false);
                request.HttpContext.Response.Headers[ModelLoadHeader] =
                    ((long)_time.GetElapsedTime(waitStarted).TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            }

            span?.SetTag("model.version", model.VersionText);
            var headerLength = ReadHeaderLength(request);
            using var body = await PooledBody.ReadAsync(request, _options.MaxRequestBodyBytes, _budget, cancellationToken).ConfigureAwait(false);
            UInt128? exactKey = null;
            var lookUp = LooksUp(model);
            if (lookUp)
            {
                var lookupStarted = _time.GetTimestamp();
                CachedResponse? repeated;
                using (var lookup = InferenceTelemetry.Source.StartChild("cache lookup"))
                {
                    exactKey = CacheKey.ComputeExact(model.CacheKeyPrefix, headerLength, body.Span);
                    repeated = _cache.GetResponse(exactKey.Value);
                    lookup?.SetTag("cache.kind", "response");
                    lookup?.SetTag("cache.hit", repeated is not null);
                }

                var elapsed = Nanoseconds(lookupStarted);
                model.ResponseCosts.RecordLookup(elapsed);
                if (repeated is not null)
                {
                    // A byte-identical request was answered before: the same answer, without parsing it again.
                    _metrics.RecordCacheLookup(model.ModelName, _cache.Memory.Name, hit: true);
                    model.Statistics.CacheHit.Add(1, (long)elapsed);
                    RecordLookedUp(model, responseHit: true, CacheOutcome.Miss);
                    return InferReply.Cached(this, model, started, repeated);
                }
            }

            var computeStarted = _time.GetTimestamp();
            var decoded = InferRequestReader.Read(body.Span, headerLength, model.Signature, _options.MaxRank);
            decoded.ReceivedAt = started;
            try
            {
                var (outputs, outcome) = await PredictAsync(model, decoded, lookUp, cancellationToken).ConfigureAwait(false);
                if (lookUp)
                {
                    RecordLookedUp(model, responseHit: false, outcome);
                }

                using var encode = InferenceTelemetry.Source.StartChild("encode");
                return Encode(model, started, decoded, outputs, outcome, exactKey, computeStarted);
            }
            catch
            {
                decoded.Dispose();
                throw;
            }
        }
        catch (Exception ex)
        {
            Fail(span, model, started, ex);
            throw;
        }
    }

    /// <summary>
    /// Answers an infer request that arrived already parsed (gRPC) to <paramref name="name"/> (version
    /// <paramref name="versionText"/>, or the highest ready): <paramref name="decode"/> reads it against the
    /// resolved version (given the time the request began, which its deadline runs from); the prediction cache and
    /// the batcher answer it; <paramref name="encode"/> builds the reply while the outputs are still held (they go
    /// back to the pool afterwards). Recorded in the statistics and metrics as REST's requests are.
    /// </summary>
    /// <exception cref="InferenceException">The request fails with that status (recorded as such).</exception>
    public async Task<TReply> InferAsync<TReply>(string name, string? versionText, Func<ModelHost, long, InferRequest> decode,
        Func<ModelHost, InferRequest, PooledTensor[], CacheOutcome, TReply> encode, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        ModelHost? model = null;
        TReply reply;
        var span = InferenceTelemetry.RequestSpan();
        span?.SetTag("model", name);
        try
        {
            model = await _repository.AcquireAsync(name, versionText, cancellationToken).ConfigureAwait(false);
            span?.SetTag("model.version", model.VersionText);
            using var decoded = decode(model, started);
            var (outputs, outcome) = await PredictAsync(model, decoded, cancellationToken).ConfigureAwait(false);
            try
            {
                using var encoding = InferenceTelemetry.Source.StartChild("encode");
                reply = encode(model, decoded, outputs, outcome);
            }
            finally
            {
                InferReply.DisposeAll(outputs);
            }
        }
        catch (Exception ex)
        {
            Fail(span, model, started, ex);
            throw;
        }

        Finish(model, started, StatusCodes.Status200OK);
        return reply;
    }

    /// <summary>
    /// The outputs of <paramref name="request"/> to <paramref name="model"/> (the caller's to dispose) and where
    /// they came from: the prediction cache when the model caches, else (or on a miss) the model's batcher.
    /// </summary>
    /// <exception cref="InferenceException">The model refused the input, or its queue did (503).</exception>
    public async ValueTask<(PooledTensor[] Outputs, CacheOutcome Outcome)> PredictAsync(ModelHost model, InferRequest request, CancellationToken cancellationToken)
    {
        var lookUp = LooksUp(model);
        var result = await PredictAsync(model, request, lookUp, cancellationToken).ConfigureAwait(false);
        if (lookUp)
        {
            RecordLookedUp(model, responseHit: false, result.Outcome);
        }

        return result;
    }

    // The prediction path once the gate decided whether this request looks in the cache (lookUp) or not.
    private async ValueTask<(PooledTensor[] Outputs, CacheOutcome Outcome)> PredictAsync(ModelHost model, InferRequest request, bool lookUp, CancellationToken cancellationToken)
    {
        model.Drift?.Observe(request); // null unless config.json enables drift: then a random draw and, when sampled, a bounded copy
        var policy = model.CachePolicy;
        if (!lookUp)
        {
            return (await model.InferAsync(request, cancellationToken).ConfigureAwait(false), policy.Enabled ? CacheOutcome.Paused : CacheOutcome.Bypass);
        }

        var started = _time.GetTimestamp();
        var key = CacheKey.Compute(model.CacheKeyPrefix, request, model.Signature);
        for (var attempt = 1; ; attempt++)
        {
            CachedPrediction? stored;
            CacheOutcome found;
            using (var lookup = InferenceTelemetry.Source.StartChild("cache lookup"))
            {
                (stored, found) = await _cache.GetAsync(key, request, model.Signature, policy.TimeToLive, cancellationToken).ConfigureAwait(false);
                lookup?.SetTag("cache.kind", "prediction");
                lookup?.SetTag("cache.outcome", found.ToString());
            }

            RecordLookups(model.ModelName, found);
            var lookedUp = Nanoseconds(started);
            model.PredictionCosts.RecordLookup(lookedUp);
            if (stored is not null)
            {
                model.Statistics.CacheHit.Add(1, (long)lookedUp);
                return (stored.ToPooled(), found);
            }

            model.Statistics.CacheMiss.Add(1, (long)lookedUp);
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
                var outputs = await model.InferAsync(request, cancellationToken).ConfigureAwait(false);
                model.PredictionCosts.RecordSaved(Nanoseconds(computeStarted));
                var prediction = CachedPrediction.From(outputs);
                flight.SetResult(prediction);
                if (Admit(model, model.PredictionCosts, key))
                {
                    var storeStarted = _time.GetTimestamp();
                    _cache.Set(key, prediction, policy.TimeToLive);
                    model.PredictionCosts.RecordStore(Nanoseconds(storeStarted));
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

    // Records a request that failed with ex (its span marked with the status) and gives back its reference on model.
    private void Fail(Activity? span, ModelHost? model, long started, Exception ex)
    {
        var status = StatusOf(ex);
        if (status >= 400)
        {
            span?.SetStatus(ActivityStatusCode.Error, ex.Message);
        }

        Finish(model, started, status);
    }

    /// <summary>Records a finished request and gives back its reference on <paramref name="model"/> (null when it never resolved).</summary>
    internal void Finish(ModelHost? model, long started, int status)
    {
        var elapsed = _time.GetElapsedTime(started);
        if (model is not null)
        {
            var nanoseconds = (long)(elapsed.TotalMilliseconds * 1_000_000);
            if (status < 400)
            {
                model.Statistics.Success.Add(1, nanoseconds);
                model.Statistics.RecordLatency(nanoseconds);
            }
            else
            {
                model.Statistics.Fail.Add(1, nanoseconds);
            }
            model.Release();
        }

        _metrics.RecordInference(model?.ModelName ?? "", model?.VersionText ?? "", status, elapsed);
    }

    // What the caller is answered: the typed errors carry their status; a request the client abandoned
    // counts as it always has (200: it was not refused); anything else becomes the middleware's 500.
    private static int StatusOf(Exception exception) => exception switch
    {
        InferenceException ex => ex.StatusCode,
        BadHttpRequestException ex => ex.StatusCode,
        OperationCanceledException => StatusCodes.Status200OK,
        _ => StatusCodes.Status500InternalServerError,
    };

    // Whether this request to model looks in its cache: never when the model's cache is off; while the cache is
    // paused, only the gate's sample (the others are counted as skipped).
    private bool LooksUp(ModelHost model)
    {
        if (!model.CachePolicy.Enabled)
        {
            return false;
        }

        if (model.LookupGate.ShouldLookUp(_bypass))
        {
            return true;
        }

        _metrics.RecordCacheSkipped(model.ModelName);
        return false;
    }

    // Feeds the gate one request that looked up; logs when that completed a window that paused or resumed the cache.
    private void RecordLookedUp(ModelHost model, bool responseHit, CacheOutcome outcome)
    {
        var predictionHit = outcome is CacheOutcome.HitMemory or CacheOutcome.HitRedis;
        if (model.LookupGate.Record(responseHit, predictionHit, _time.GetTimestamp(), _bypass) is not { } decision)
        {
            return;
        }

        if (decision.Paused)
        {
            Log.CachePaused(_logger, model.ModelName, model.VersionText, decision.HitRatio, decision.SavingNanoseconds / 1000, decision.CostNanoseconds / 1000, _bypass.SampleEvery);
        }
        else
        {
            Log.CacheResumed(_logger, model.ModelName, model.VersionText, decision.HitRatio, decision.SavingNanoseconds / 1000, decision.CostNanoseconds / 1000);
        }
    }

    // The admission decision for a miss, timed: the second-sighting check is part of what a lookup costs the gate.
    private bool Admit(ModelHost model, CacheCostMeter costs, UInt128 key)
    {
        var sightingStarted = _time.GetTimestamp();
        var admit = _cache.Admit(model.CachePolicy.Admission, costs, key);
        costs.RecordSighting(Nanoseconds(sightingStarted));
        return admit;
    }

    private void RecordLookups(string model, CacheOutcome found)
    {
        _metrics.RecordCacheLookup(model, _cache.Memory.Name, found == CacheOutcome.HitMemory);
        if (found != CacheOutcome.HitMemory && _cache.Redis is { } redis)
        {
            _metrics.RecordCacheLookup(model, redis.Name, found == CacheOutcome.HitRedis);
        }
    }

    // Encodes the response; when the model caches and admits it, also keeps it whole for byte-identical repeats.
    private InferReply Encode(ModelHost model, long started, InferRequest request, PooledTensor[] outputs, CacheOutcome outcome, UInt128? exactKey, long computeStarted)
    {
        PooledBufferWriter? json = null;
        try
        {
            json = new PooledBufferWriter();
            InferResponseWriter.Write(json, model.ModelName, model.VersionText, request.Id, outputs, request.Outputs);
            long binaryLength = 0;
            var hasBinary = false;
            for (var i = 0; i < outputs.Length; i++)
            {
                if (request.Outputs[i].Binary)
                {
                    binaryLength += outputs[i].Length;
                    hasBinary = true;
                }
            }

            int? headerLength = hasBinary ? json.WrittenCount : null;
            if (exactKey is not { } key)
            {
                return InferReply.Encoded(this, model, started, outcome, request, outputs, json, headerLength, json.WrittenCount + binaryLength);
            }

            model.ResponseCosts.RecordSaved(Nanoseconds(computeStarted));
            if (!Admit(model, model.ResponseCosts, key))
            {
                return InferReply.Encoded(this, model, started, outcome, request, outputs, json, headerLength, json.WrittenCount + binaryLength);
            }

            var storeStarted = _time.GetTimestamp();
            var whole = new byte[json.WrittenCount + binaryLength];
            json.WrittenSpan.CopyTo(whole);
            var at = json.WrittenCount;
            for (var i = 0; i < outputs.Length; i++)
            {
                if (request.Outputs[i].Binary)
                {
                    outputs[i].Span.CopyTo(whole.AsSpan(at));
                    at += outputs[i].Length;
                }
            }

            var response = new CachedResponse(whole, headerLength);
            _cache.SetResponse(key, response, model.CachePolicy.TimeToLive);
            model.ResponseCosts.RecordStore(Nanoseconds(storeStarted));
            json.Dispose();
            InferReply.DisposeAll(outputs);
            request.Dispose();
            return InferReply.Cached(this, model, started, response, outcome);
        }
        catch
        {
            json?.Dispose();
            InferReply.DisposeAll(outputs);
            throw;
        }
    }

    private static int? ReadHeaderLength(HttpRequest request)
    {
        if (!request.Headers.TryGetValue(HeaderLengthHeader, out var values))
        {
            return null;
        }

        if (values.Count != 1 || !int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            throw InferenceException.BadRequest($"{HeaderLengthHeader} must be one non-negative integer");
        }

        return length;
    }

    // Nanoseconds since a timestamp of the pipeline's clock, without TimeSpan's 100 ns rounding.
    private double Nanoseconds(long started) => (_time.GetTimestamp() - started) * (1e9 / _time.TimestampFrequency);

    private static partial class Log
    {
        [LoggerMessage(80, LogLevel.Information, "Cache of {Model} version {Version} paused: hit ratio {HitRatio:P1}, expected saving {SavingMicroseconds:0.00} us a lookup, not more than its cost {CostMicroseconds:0.00} us; one request in {SampleEvery} still looks up")]
        public static partial void CachePaused(ILogger logger, string model, string version, double hitRatio, double savingMicroseconds, double costMicroseconds, int sampleEvery);

        [LoggerMessage(81, LogLevel.Information, "Cache of {Model} version {Version} resumed: hit ratio {HitRatio:P1}, expected saving {SavingMicroseconds:0.00} us a lookup, more than its cost {CostMicroseconds:0.00} us")]
        public static partial void CacheResumed(ILogger logger, string model, string version, double hitRatio, double savingMicroseconds, double costMicroseconds);
    }
}
