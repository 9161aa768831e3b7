using Prometheus;
using ServingGateway.Batching;

namespace ServingGateway.Inference.Metrics;

/// <summary>
/// Metrics: the inference node's Prometheus metrics (and, in <see cref="ModelStatistics"/>, Triton's per-version statistics), in a registry of its own per host (so two hosts in one
/// process, as in tests, do not mix counts), exported at <c>/metrics</c>.
/// </summary>
/// <remarks>
/// Labels are few and fixed: model and version are those loaded from the repository (a request for an
/// unknown model is counted with empty labels, never with the name it sent); outcome is success,
/// client_error or server_error.
/// </remarks>
public sealed class NodeMetrics
{
    private readonly Counter _requests;
    private readonly Histogram _duration;
    private readonly Histogram _batchSize;
    private readonly Histogram _queueTime;
    private readonly Histogram _computeTime;
    private readonly Gauge _queueRows;
    private readonly Gauge _queueWait;
    private readonly Gauge _admissionShare;
    private readonly Counter _queueRejected;
    private readonly Counter _deadlineAnswers;
    private readonly Gauge _gpuMemory;
    private readonly Counter _cacheLookups;
    private readonly Counter _cacheRejected;
    private readonly Counter _cacheSkipped;
    private readonly Counter _modelLoads;
    private readonly Counter _evictions;
    private readonly Histogram _loadTime;
    private readonly Gauge _residentModels;
    private readonly Gauge _residentBytes;
    private readonly Gauge _inputDrift;
    private readonly Gauge _driftThreshold;
    private readonly Gauge _latencySlo;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Model, string Version, string Outcome), (Counter.Child Count, Histogram.Child Duration)> _inference = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Model, string Tier, bool Hit), Counter.Child> _lookups = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Model, string Version), string[]> _gpuDevices = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Model, string Version), Func<QueueCounters?>> _queues = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Counter.Child> _skipped = new();

    // The reason label of each RejectionReason: the names users see in sg_queue_rejected_total.
    private static readonly (RejectionReason Reason, string Label)[] RejectionLabels =
    [
        (RejectionReason.QueueRows, "queue_rows"),
        (RejectionReason.QueueBytes, "queue_bytes"),
        (RejectionReason.Deadline, "deadline"),
        (RejectionReason.Expired, "expired"),
        (RejectionReason.CoDel, "codel"),
    ];

    /// <summary>The node's metrics, in a new registry with the .NET runtime's own.</summary>
    public NodeMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        Factory = MetricFactories.For(Registry);
        _requests = Factory.CreateCounter(
            "sg_inference_requests_total",
            "Inference requests by model, version and outcome (success, client_error, server_error).",
            ["model", "version", "outcome"]);
        _duration = Factory.CreateHistogram(
            "sg_inference_request_duration_seconds",
            "Inference request time from body read to response written, by model, version and outcome.",
            ["model", "version", "outcome"],
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0001, 2, 18) });
        _batchSize = Factory.CreateHistogram(
            "sg_batch_size",
            "Rows per batch run, by model and version.",
            ["model", "version"],
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 11) });
        _queueTime = Factory.CreateHistogram(
            "sg_queue_duration_seconds",
            "Time a request waited in the batcher's queue, by model and version.",
            ["model", "version"],
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.00005, 2, 18) });
        _computeTime = Factory.CreateHistogram(
            "sg_compute_duration_seconds",
            "Time to run one batch (assembling inputs, running the model, splitting outputs), by model and version.",
            ["model", "version"],
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.00005, 2, 18) });
        _queueRows = Factory.CreateGauge(
            "sg_queue_rows",
            "Rows waiting in the batcher's queue, by model and version.",
            ["model", "version"]);
        _queueWait = Factory.CreateGauge(
            "sg_queue_wait_estimate_seconds",
            "The batcher's estimate of how long a request queued now would wait: rows queued over the best drain rate measured (0 before any batch ran), by model and version.",
            ["model", "version"]);
        _admissionShare = Factory.CreateGauge(
            "sg_queue_admission_share",
            "Deadline policy: the share of a request's deadline that the work queued ahead may take for it to be admitted, learned from the answers (1: the deadline itself; lower while more than 1% of answers finish past their SLO), by model and version.",
            ["model", "version"]);
        _queueRejected = Factory.CreateCounter(
            "sg_queue_rejected_total",
            "Requests the batcher refused (503) or dropped uncomputed, by model, version and reason: queue_rows, queue_bytes (the queue limits), deadline (could not finish by its deadline), expired (its deadline passed in the queue), codel (shed from a standing queue).",
            ["model", "version", "reason"]);
        _deadlineAnswers = Factory.CreateCounter(
            "sg_deadline_answers_total",
            "Requests with a target (a timeout, or latency_slo_ms under the deadline policy) whose batch finished, by model, version and outcome: in_time (finished by the target: goodput) or late.",
            ["model", "version", "outcome"]);
        _gpuMemory = Factory.CreateGauge(
            "sg_model_gpu_memory_bytes",
            "Device memory a version on CUDA took at load (sessions, weights, the arena grown by the warm-up), by model, version and device: used bytes after minus before, from cudaMemGetInfo, loads on CUDA one at a time.",
            ["model", "version", "device"]);
        _cacheLookups = Factory.CreateCounter(
            "sg_cache_lookups_total",
            "Prediction cache lookups by model, tier (memory, redis) and outcome (hit, miss).",
            ["model", "tier", "outcome"]);
        _cacheSkipped = Factory.CreateCounter(
            "sg_cache_skipped_total",
            "Requests to a model with its cache on that did not look in it, the cache being paused as it did not pay, by model.",
            ["model"]);
        _cacheRejected = Factory.CreateCounter(
            "sg_cache_rejected_total",
            "Redis cache entries refused and treated as misses, by reason: mac (the HMAC does not verify), parse (unreadable), mismatch (not the request's outputs or the model's signature).",
            ["reason"]);
        _modelLoads = Factory.CreateCounter(
            "sg_model_loads_total",
            "Model versions made resident (at start-up, on explicit load, on demand), by model and outcome (success, failure).",
            ["model", "outcome"]);
        _evictions = Factory.CreateCounter(
            "sg_model_evictions_total",
            "Idle model versions evicted (least recently used) to make room under Inference:MaxResidentModels / MaxResidentMb, by model.",
            ["model"]);
        _loadTime = Factory.CreateHistogram(
            "sg_model_load_duration_seconds",
            "Time to make one model version resident: sessions created and warmed up.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });
        _residentModels = Factory.CreateGauge(
            "sg_resident_models",
            "Model versions resident now (holding sessions), loads in progress not included.");
        _residentBytes = Factory.CreateGauge(
            "sg_resident_bytes",
            "Estimated bytes of the resident model versions, as counted against Inference:MaxResidentMb (docs/CONFIGURATION.md).");
        _inputDrift = Factory.CreateGauge(
            "sg_input_drift_psi",
            "Population stability index of an input's last complete drift window against its reference, the largest over the input's features (NaN until a window completes), by model, version and input; only for models with config.json drift enabled.",
            ["model", "version", "input"]);
        _driftThreshold = Factory.CreateGauge(
            "sg_input_drift_threshold",
            "The drift threshold of a version's config.json (drift.threshold): an input whose sg_input_drift_psi is above it is drifting, by model and version.",
            ["model", "version"]);
        _latencySlo = Factory.CreateGauge(
            "sg_model_latency_slo_seconds",
            "A version's latency objective, config.json latency_slo_ms (or Triton's config.pbtxt equivalent), by model and version; only for versions whose configuration names one. The p99 alert compares each model's p99 with it.",
            ["model", "version"]);
        foreach (var reason in (string[])[RejectedMac, RejectedParse, RejectedMismatch])
        {
            _cacheRejected.WithLabels(reason); // exported as 0 from the start, so a rise is visible
        }

        Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var ((model, version), read) in _queues)
            {
                if (read() is not { } counters)
                {
                    continue;
                }

                // The batcher counts; a scrape copies its totals (counters only rise within one batcher's life).
                _queueRows.WithLabels(model, version).Set(counters.QueuedRows);
                _queueWait.WithLabels(model, version).Set(counters.EstimatedWait.TotalSeconds);
                _admissionShare.WithLabels(model, version).Set(counters.AdmissionShare);
                foreach (var (reason, label) in RejectionLabels)
                {
                    _queueRejected.WithLabels(model, version, label).IncTo(counters.RejectedFor(reason));
                }

                _deadlineAnswers.WithLabels(model, version, "in_time").IncTo(counters.AnsweredInTime);
                _deadlineAnswers.WithLabels(model, version, "late").IncTo(counters.AnsweredLate);
            }
        });
    }

    /// <summary>sg_cache_rejected_total reason: the entry's HMAC does not verify.</summary>
    internal const string RejectedMac = "mac";

    /// <summary>sg_cache_rejected_total reason: the entry's MAC verifies but it cannot be parsed.</summary>
    internal const string RejectedParse = "parse";

    /// <summary>sg_cache_rejected_total reason: the entry is not the request's outputs or does not fit the model's signature.</summary>
    internal const string RejectedMismatch = "mismatch";

    /// <summary>The registry <c>/metrics</c> exports.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Creates further metrics in <see cref="Registry"/>.</summary>
    internal IMetricFactory Factory { get; }

    /// <summary>The batching metrics of one loaded version; <paramref name="queue"/> (its batcher's counters, null until it exists) is read at each scrape.</summary>
    internal VersionMetrics ForVersion(string model, string version, Func<QueueCounters?> queue, TimeSpan? latencySlo = null)
    {
        _queues[(model, version)] = queue;
        if (latencySlo is { } slo)
        {
            _latencySlo.WithLabels(model, version).Set(slo.TotalSeconds);
        }

        return new VersionMetrics(_batchSize.WithLabels(model, version), _queueTime.WithLabels(model, version), _computeTime.WithLabels(model, version));
    }

    /// <summary>Forgets an unloaded version's batching series (queue gauges, batch and phase histograms, objective) and GPU memory.</summary>
    internal void RemoveVersion(string model, string version)
    {
        _latencySlo.RemoveLabelled(model, version);
        _batchSize.RemoveLabelled(model, version);
        _queueTime.RemoveLabelled(model, version);
        _computeTime.RemoveLabelled(model, version);
        if (_queues.TryRemove((model, version), out _))
        {
            _queueRows.RemoveLabelled(model, version);
            _queueWait.RemoveLabelled(model, version);
            _admissionShare.RemoveLabelled(model, version);
            foreach (var (_, label) in RejectionLabels)
            {
                _queueRejected.RemoveLabelled(model, version, label);
            }

            _deadlineAnswers.RemoveLabelled(model, version, "in_time");
            _deadlineAnswers.RemoveLabelled(model, version, "late");
        }

        if (_gpuDevices.TryRemove((model, version), out var devices))
        {
            foreach (var device in devices)
            {
                _gpuMemory.RemoveLabelled(model, version, device);
            }
        }
    }

    /// <summary>Records the device memory a version on CUDA took at load, per device (sg_model_gpu_memory_bytes).</summary>
    internal void SetGpuMemory(string model, string version, IReadOnlyDictionary<int, long> bytesByDevice)
    {
        var devices = bytesByDevice.Keys.Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        _gpuDevices[(model, version)] = devices;
        foreach (var (device, bytes) in bytesByDevice)
        {
            _gpuMemory.WithLabels(model, version, device.ToString(System.Globalization.CultureInfo.InvariantCulture)).Set(bytes);
        }
    }

    /// <summary>Sets an input's drift PSI (sg_input_drift_psi).</summary>
    internal void SetInputDrift(string model, string version, string input, double psi) => _inputDrift.WithLabels(model, version, input).Set(psi);

    /// <summary>Sets a version's drift threshold (sg_input_drift_threshold).</summary>
    internal void SetDriftThreshold(string model, string version, double threshold) => _driftThreshold.WithLabels(model, version).Set(threshold);

    /// <summary>Forgets an unloaded version's drift gauges.</summary>
    internal void RemoveDrift(string model, string version, IEnumerable<string> inputs)
    {
        _driftThreshold.RemoveLabelled(model, version);
        foreach (var input in inputs)
        {
            _inputDrift.RemoveLabelled(model, version, input);
        }
    }

    /// <summary>Counts one lookup in one cache tier.</summary>
    internal void RecordCacheLookup(string model, string tier, bool hit) =>
        _lookups.GetOrAdd((model, tier, hit), static (k, c) => c.WithLabels(k.Model, k.Tier, k.Hit ? "hit" : "miss"), _cacheLookups).Inc();

    /// <summary>Counts one request that skipped <paramref name="model"/>'s paused cache.</summary>
    internal void RecordCacheSkipped(string model) =>
        _skipped.GetOrAdd(model, static (m, c) => c.WithLabels(m), _cacheSkipped).Inc();

    /// <summary>Counts one Redis cache entry refused (a miss) for <paramref name="reason"/>.</summary>
    internal void RecordCacheRejected(string reason) => _cacheRejected.WithLabels(reason).Inc();

    /// <summary>Counts one load of a model version and, when it succeeded, its time.</summary>
    internal void RecordModelLoad(string model, bool success, TimeSpan elapsed)
    {
        _modelLoads.WithLabels(model, success ? "success" : "failure").Inc();
        if (success)
        {
            _loadTime.Observe(elapsed.TotalSeconds);
        }
    }

    /// <summary>Counts one eviction of an idle version of <paramref name="model"/>.</summary>
    internal void RecordEviction(string model) => _evictions.WithLabels(model).Inc();

    /// <summary>Sets the resident versions and their estimated bytes.</summary>
    internal void SetResident(int models, long bytes)
    {
        _residentModels.Set(models);
        _residentBytes.Set(bytes);
    }

    /// <summary>Counts one inference request and its duration.</summary>
    internal void RecordInference(string model, string version, int statusCode, TimeSpan elapsed)
    {
        var outcome = statusCode < 400 ? "success" : statusCode < 500 ? "client_error" : "server_error";

        // Label children bound once: the hot path is a dictionary hit, not a label lookup and an array.
        var (count, duration) = _inference.GetOrAdd(
            (model, version, outcome),
            static (k, m) => (m._requests.WithLabels(k.Model, k.Version, k.Outcome), m._duration.WithLabels(k.Model, k.Version, k.Outcome)),
            this);
        count.Inc();
        duration.Observe(elapsed.TotalSeconds);
    }

    /// <summary>The batching metrics of one version, with their labels bound once.</summary>
    internal sealed class VersionMetrics(Histogram.Child batchSize, Histogram.Child queueTime, Histogram.Child computeTime)
    {
        public void RecordBatch(int rows, TimeSpan compute)
        {
            batchSize.Observe(rows);
            computeTime.Observe(compute.TotalSeconds);
        }

        public void RecordQueue(TimeSpan waited) => queueTime.Observe(waited.TotalSeconds);
    }
}
