using System.Text.Json;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Residency;

namespace ServingGateway.Inference.Http;

/// <summary>Writes Triton's statistics extension JSON for model versions.</summary>
internal static class StatisticsWriter
{
    /// <summary>Writes the properties of <c>{"model_stats": [...]}</c> into an open object.</summary>
    public static void Write(Utf8JsonWriter w, IEnumerable<ModelHost> versions)
    {
        w.WriteStartArray("model_stats"u8);
        foreach (var version in versions)
        {
            var stats = version.Statistics;
            w.WriteStartObject();
            w.WriteString("name"u8, version.ModelName);
            w.WriteString("version"u8, version.VersionText);
            w.WriteNumber("last_inference"u8, stats.LastInferenceMs);
            w.WriteNumber("inference_count"u8, stats.InferenceCount);
            w.WriteNumber("execution_count"u8, stats.ExecutionCount);
            w.WriteStartObject("inference_stats"u8);
            Duration(w, "success"u8, stats.Success);
            Duration(w, "fail"u8, stats.Fail);
            Duration(w, "queue"u8, stats.Queue);
            Duration(w, "compute_input"u8, stats.ComputeInput);
            Duration(w, "compute_infer"u8, stats.ComputeInfer);
            Duration(w, "compute_output"u8, stats.ComputeOutput);
            Duration(w, "cache_hit"u8, stats.CacheHit);
            Duration(w, "cache_miss"u8, stats.CacheMiss);
            w.WriteEndObject();

            w.WriteStartArray("batch_stats"u8);
            for (var size = 1; size < stats.BySize.Count; size++)
            {
                var batch = stats.BySize[size];
                if (batch.ComputeInfer.Count == 0)
                {
                    continue;
                }

                w.WriteStartObject();
                w.WriteNumber("batch_size"u8, size);
                Duration(w, "compute_input"u8, batch.ComputeInput);
                Duration(w, "compute_infer"u8, batch.ComputeInfer);
                Duration(w, "compute_output"u8, batch.ComputeOutput);
                w.WriteEndObject();
            }

            w.WriteEndArray();

            // Batches run by size, compactly: {"1": 120, "8": 3}.
            w.WriteStartObject("batch_size_histogram"u8);
            for (var size = 1; size < stats.BySize.Count; size++)
            {
                var count = stats.BySize[size].ComputeInfer.Count;
                if (count > 0)
                {
                    w.WriteNumber(size.ToString(System.Globalization.CultureInfo.InvariantCulture), count);
                }
            }

            w.WriteEndObject();
            w.WriteNumber("queue_rows"u8, version.QueuedRows);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void Duration(Utf8JsonWriter w, ReadOnlySpan<byte> name, ModelStatistics.Duration duration)
    {
        w.WriteStartObject(name);
        w.WriteNumber("count"u8, duration.Count);
        w.WriteNumber("ns"u8, duration.Nanoseconds);
        w.WriteEndObject();
    }
}
