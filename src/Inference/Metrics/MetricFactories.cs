using System.Diagnostics;
using Prometheus;

namespace ServingGateway.Inference.Metrics;

/// <summary>
/// Where every metric of the server is created: a factory on a registry whose counters and histograms take an
/// exemplar (<c>trace_id</c>, <c>span_id</c>) only from a recorded span. prometheus-net's default takes one from any
/// current activity, and with sampling below 100% most requests carry an activity that is never exported: such an
/// exemplar links to a trace that does not exist, and taking it costs every request.
/// </summary>
public static class MetricFactories
{
    private static readonly ExemplarBehavior RecordedSpansOnly = new() { DefaultExemplarProvider = FromRecordedSpan };

    /// <summary>The factory for metrics in <paramref name="registry"/>.</summary>
    public static IMetricFactory For(CollectorRegistry registry)
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        factory.ExemplarBehavior = RecordedSpansOnly;
        return factory;
    }

    private static Exemplar FromRecordedSpan(Collector metric, double value) =>
        Activity.Current is { Recorded: true } ? Exemplar.FromTraceContext() : Exemplar.None;
}
