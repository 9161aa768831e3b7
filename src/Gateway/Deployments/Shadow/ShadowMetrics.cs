using Prometheus;
using ServingGateway.Inference.Metrics;

namespace ServingGateway.Deployments.Shadow;

/// <summary>
/// Shadow mirroring's Prometheus metrics, in the node's registry (standalone) or the edge's. Labels are few and
/// fixed: model and version are those of a traffic split's shadow (set by a rollout, never by a request), outcome
/// and reason are fixed lists.
/// </summary>
internal sealed class ShadowMetrics
{
    /// <summary>sg_shadow_requests_total outcome: compared with the caller's answer.</summary>
    public const string Compared = "compared";

    /// <summary>sg_shadow_requests_total outcome: the shadow failed (error status, timeout, exception).</summary>
    public const string Error = "error";

    /// <summary>sg_shadow_requests_total outcome: not queued, the queue (count or bytes) being full.</summary>
    public const string Dropped = "dropped";

    /// <summary>sg_shadow_requests_total outcome: not run, the caller's own answer being unreadable (nothing to compare with).</summary>
    public const string Skipped = "skipped";

    // Divergence buckets: a good version (same weights) sits at 0 or float rounding (1e-7); a changed one from 1e-3 up.
    private static readonly double[] DivergenceBuckets = [1e-9, 1e-7, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.2, 0.5, 1, 2, 10];

    private readonly Counter _requests;
    private readonly Counter _mismatches;
    private readonly Histogram _divergence;
    private readonly Gauge _queued;

    public ShadowMetrics(CollectorRegistry registry)
    {
        var factory = MetricFactories.For(registry);
        _requests = factory.CreateCounter(
            "sg_shadow_requests_total",
            "Infer requests mirrored to a shadow version, by model, shadow version and outcome: compared (with the caller's answer), error (the shadow failed), dropped (the shadow queue was full), skipped (the caller's answer was unreadable).",
            ["model", "version", "outcome"]);
        _divergence = factory.CreateHistogram(
            "sg_shadow_divergence",
            "Relative L2 distance between a shadow version's outputs and the caller's answer on the same request, by model and shadow version; comparisons that could not be made (+infinity) are in sg_shadow_mismatches_total instead.",
            ["model", "version"],
            new HistogramConfiguration { Buckets = DivergenceBuckets });
        _mismatches = factory.CreateCounter(
            "sg_shadow_mismatches_total",
            "Shadow answers that could not be compared with the caller's (divergence +infinity), by model, shadow version and reason: names, datatype, shape (of the outputs), bytes (BYTES outputs differ), non_finite (NaN or infinity against another value), unreadable.",
            ["model", "version", "reason"]);
        _queued = factory.CreateGauge("sg_shadow_queued", "Mirrored requests waiting for a shadow run.");
    }

    /// <summary>Counts one mirrored request of <paramref name="model"/> to <paramref name="version"/> with <paramref name="outcome"/>.</summary>
    public void Count(string model, long version, string outcome) => _requests.WithLabels(model, Label(version), outcome).Inc();

    /// <summary>Records one comparison: its divergence, or its mismatch reason.</summary>
    public void Compare(string model, long version, ShadowComparison comparison)
    {
        Count(model, version, Compared);
        if (comparison.Mismatch is { } reason)
        {
            _mismatches.WithLabels(model, Label(version), reason).Inc();
        }
        else
        {
            _divergence.WithLabels(model, Label(version)).Observe(comparison.Divergence);
        }
    }

    /// <summary>Sets the number of mirrored requests waiting.</summary>
    public void SetQueued(int count) => _queued.Set(count);

    private static string Label(long version) => version.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
