using ServingGateway.Batching;
using ServingGateway.Inference.Metrics;

namespace ServingGateway.Inference.Tests.Metrics;

/// <summary>A version's batching series: its latency objective when configured, and every series gone once it is unloaded.</summary>
public sealed class NodeMetricsVersionTests
{
    [Fact]
    public async Task ForVersion_ObjectiveConfiguredOrNot_ExportedOnlyWhenConfiguredAndGoneAfterRemove()
    {
        var metrics = new NodeMetrics();
        var counters = new QueueCounters(0, TimeSpan.Zero, new long[Enum.GetValues<RejectionReason>().Length], 0, 0, 1);

        var tight = metrics.ForVersion("tight", "2", () => counters, TimeSpan.FromMilliseconds(20));
        var plain = metrics.ForVersion("plain", "1", () => counters);
        tight.RecordBatch(4, TimeSpan.FromMilliseconds(3));
        tight.RecordQueue(TimeSpan.FromMilliseconds(1));
        plain.RecordBatch(1, TimeSpan.FromMilliseconds(1));
        var loaded = await ExportAsync(metrics);
        metrics.RemoveVersion("tight", "2");
        var unloaded = await ExportAsync(metrics);

        Assert.Contains("sg_model_latency_slo_seconds{model=\"tight\",version=\"2\"} 0.02", loaded, StringComparison.Ordinal);
        Assert.DoesNotContain("sg_model_latency_slo_seconds{model=\"plain\"", loaded, StringComparison.Ordinal);
        Assert.Contains("sg_batch_size_count{model=\"tight\",version=\"2\"} 1", loaded, StringComparison.Ordinal);
        foreach (var family in (string[])["sg_model_latency_slo_seconds", "sg_batch_size", "sg_queue_duration_seconds", "sg_compute_duration_seconds", "sg_queue_rows"])
        {
            Assert.DoesNotContain($"{family}{{model=\"tight\"", unloaded.Replace("_bucket{", "{", StringComparison.Ordinal).Replace("_count{", "{", StringComparison.Ordinal).Replace("_sum{", "{", StringComparison.Ordinal), StringComparison.Ordinal);
        }

        Assert.Contains("sg_batch_size_count{model=\"plain\",version=\"1\"} 1", unloaded, StringComparison.Ordinal);
    }

    private static Task<string> ExportAsync(NodeMetrics metrics) => NodeMetricsGpuMemoryTests.ExportAsync(metrics);
}
