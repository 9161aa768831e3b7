using System.Text;
using Prometheus;
using ServingGateway.Deployments;
using ServingGateway.Deployments.Rollouts;

namespace ServingGateway.Gateway.Tests.Deployments.Rollouts;

/// <summary>The split each process routes by, and the decisions counted by action, as a Prometheus scrape shows them.</summary>
public sealed class RolloutMetricsTests
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly FakeTrafficSplits _splits = new();

    private async Task<string[]> ScrapeAsync(string metric)
    {
        using var stream = new MemoryStream();
        await _registry.CollectAndExportAsTextAsync(stream);
        return [.. Encoding.UTF8.GetString(stream.ToArray()).Split('\n').Where(l => l.StartsWith(metric + "{", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task Scrape_SplitAsItIsNow_VersionsThatLeftItGone()
    {
        var metrics = new RolloutMetrics(_registry, _splits);
        _splits.Set("mlp", new TrafficSplit([new VersionShare(1, 75), new VersionShare(2, 25)]));
        Assert.Equal(["sg_traffic_split_percent{model=\"mlp\",version=\"1\"} 75", "sg_traffic_split_percent{model=\"mlp\",version=\"2\"} 25"], await ScrapeAsync("sg_traffic_split_percent"));

        _splits.Set("mlp", TrafficSplit.All(2));
        Assert.Equal(["sg_traffic_split_percent{model=\"mlp\",version=\"2\"} 100"], await ScrapeAsync("sg_traffic_split_percent"));

        _splits.Remove("mlp");
        Assert.Empty(await ScrapeAsync("sg_traffic_split_percent"));
        metrics.Decided("mlp", "start");
        Assert.Equal(
            ["sg_rollout_decisions_total{model=\"mlp\",action=\"promote\"} 0", "sg_rollout_decisions_total{model=\"mlp\",action=\"rollback\"} 0", "sg_rollout_decisions_total{model=\"mlp\",action=\"start\"} 1"],
            await ScrapeAsync("sg_rollout_decisions_total"));
        metrics.Decided("mlp", "rollback");
        metrics.Decided("mlp", "rollback");
        Assert.Contains("sg_rollout_decisions_total{model=\"mlp\",action=\"rollback\"} 2", await ScrapeAsync("sg_rollout_decisions_total"));
    }
}
