using Prometheus;

namespace ServingGateway.Inference.Metrics;

/// <summary>
/// The inference node's Prometheus metrics, in a registry of its own per host (so two hosts in one
/// process, as in tests, do not mix counts), exported at <c>/metrics</c>.
/// </summary>
/// <remarks>
/// Labels are few and fixed: model and version are those loaded from the repository (a request for an
/// unknown model is counted with empty labels, never with the name it sent); outcome is success,
/// client_error or server_error.
/// </remarks>
internal sealed class NodeMetrics
{
    private readonly Counter _requests;
    private readonly Histogram _duration;

    public NodeMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        Factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _requests = Factory.CreateCounter(
            "sg_inference_requests_total",
            "Inference requests by model, version and outcome (success, client_error, server_error).",
            ["model", "version", "outcome"]);
        _duration = Factory.CreateHistogram(
            "sg_inference_request_duration_seconds",
            "Inference request time from body read to response written, by model, version and outcome.",
            ["model", "version", "outcome"],
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0001, 2, 18) });
    }

    /// <summary>The registry <c>/metrics</c> exports.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Creates further metrics in <see cref="Registry"/>.</summary>
    public IMetricFactory Factory { get; }

    /// <summary>Counts one inference request and its duration.</summary>
    public void RecordInference(string model, string version, int statusCode, TimeSpan elapsed)
    {
        var outcome = statusCode < 400 ? "success" : statusCode < 500 ? "client_error" : "server_error";
        _requests.WithLabels(model, version, outcome).Inc();
        _duration.WithLabels(model, version, outcome).Observe(elapsed.TotalSeconds);
    }
}
