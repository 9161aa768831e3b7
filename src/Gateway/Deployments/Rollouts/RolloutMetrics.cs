using System.Globalization;
using Prometheus;
using ServingGateway.Inference.Metrics;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// The deployments' Prometheus metrics, in the node's registry (standalone) or the edge's: the split each process
/// routes by now (every edge reports its own, so that a split not yet applied somewhere shows), and the rollouts'
/// decisions counted by action (on the driving process), which a rollback alert watches (docs/OPERATIONS.md).
/// Labels come from rollouts (set with the deploy role, never by a request): model, version, and a fixed list of actions.
/// </summary>
internal sealed class RolloutMetrics
{
    private readonly Gauge _split;
    private readonly Counter _decisions;
    private readonly ITrafficSplits _splits;
    private readonly Lock _lock = new();
    private HashSet<(string Model, string Version)> _reported = [];

    public RolloutMetrics(CollectorRegistry registry, ITrafficSplits splits)
    {
        _splits = splits;
        var factory = MetricFactories.For(registry);
        _split = factory.CreateGauge(
            "sg_traffic_split_percent",
            "The traffic split this process routes a model's requests by now: the percent of them each version gets (models without a split are not listed).",
            ["model", "version"]);
        _decisions = factory.CreateCounter(
            "sg_rollout_decisions_total",
            "Rollout decisions by model and action (start, loaded, step, promote, rollback, pause, resume, resume_after_restart, load_failed, ...), counted by the process that drives the rollouts.",
            ["model", "action"]);
        registry.AddBeforeCollectCallback(Report);
    }

    /// <summary>
    /// Counts one decision. A start also makes the model's rollback and promote series exist at 0, so that the first
    /// rollback is an increase a rule can see (a series that appears at 1 has none).
    /// </summary>
    public void Decided(string model, string action)
    {
        if (action == "start")
        {
            _decisions.WithLabels(model, "rollback").IncTo(0);
            _decisions.WithLabels(model, "promote").IncTo(0);
        }

        _decisions.WithLabels(model, action).Inc();
    }

    // At each scrape: the splits as they are now; versions that left a split leave the gauge.
    private void Report()
    {
        var now = new HashSet<(string, string)>();
        lock (_lock)
        {
            foreach (var (model, split) in _splits.All)
            {
                foreach (var share in split.Shares)
                {
                    var version = share.Version.ToString(CultureInfo.InvariantCulture);
                    now.Add((model, version));
                    _split.WithLabels(model, version).Set(share.Percent);
                }
            }

            foreach (var (model, version) in _reported.Except(now))
            {
                _split.RemoveLabelled(model, version);
            }

            _reported = now;
        }
    }
}
