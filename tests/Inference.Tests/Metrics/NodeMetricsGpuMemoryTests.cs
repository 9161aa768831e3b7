using System.Text;
using ServingGateway.Inference.Metrics;

namespace ServingGateway.Inference.Tests.Metrics;

public sealed class NodeMetricsGpuMemoryTests
{
    [Fact]
    public async Task SetGpuMemory_ThenRemoveVersion_ExportedPerDeviceThenGone()
    {
        var metrics = new NodeMetrics();

        metrics.SetGpuMemory("resnet", "1", new Dictionary<int, long> { [0] = 123456789, [1] = 42 });
        metrics.SetGpuMemory("minilm", "3", new Dictionary<int, long> { [0] = 7 });
        var loaded = await ExportAsync(metrics);
        metrics.RemoveVersion("resnet", "1");
        var unloaded = await ExportAsync(metrics);

        Assert.Contains("sg_model_gpu_memory_bytes{model=\"resnet\",version=\"1\",device=\"0\"} 123456789", loaded, StringComparison.Ordinal);
        Assert.Contains("sg_model_gpu_memory_bytes{model=\"resnet\",version=\"1\",device=\"1\"} 42", loaded, StringComparison.Ordinal);
        Assert.DoesNotContain("model=\"resnet\"", unloaded, StringComparison.Ordinal);
        Assert.Contains("sg_model_gpu_memory_bytes{model=\"minilm\",version=\"3\",device=\"0\"} 7", unloaded, StringComparison.Ordinal);
    }

    /// <summary>The registry's Prometheus text, as /metrics serves it.</summary>
    internal static async Task<string> ExportAsync(NodeMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream, CancellationToken.None);
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
