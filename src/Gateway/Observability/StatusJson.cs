using System.Text.Json;

namespace ServingGateway.Observability;

/// <summary>The body of <c>GET /status/data</c> (docs/API.md): models with their history, traffic split and rollouts, and an edge's nodes.</summary>
internal static class StatusJson
{
    /// <summary>What the traffic section says on a node (its edges split the traffic and drive the rollouts).</summary>
    public const string NoTraffic = "none here: a node serves the version each request names, or the highest ready one; its edges split the traffic";

    /// <summary>Writes the whole object.</summary>
    /// <param name="writer">Where to.</param>
    /// <param name="role">standalone, node or edge.</param>
    /// <param name="now">The server's time.</param>
    /// <param name="models">The model versions with their samples; null on an edge (its nodes serve the models).</param>
    /// <param name="nodes">The nodes and their health; null except on an edge.</param>
    /// <param name="traffic">Writes the traffic section (splits and rollouts); null on a node, which has none.</param>
    public static void Write(
        Utf8JsonWriter writer, string role, DateTimeOffset now, IReadOnlyList<StatusSeries>? models, IReadOnlyList<NodeHealthReading>? nodes, Action<Utf8JsonWriter>? traffic)
    {
        writer.WriteStartObject();
        writer.WriteString("role", role);
        writer.WriteString("time", now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        writer.WriteNumber("sample_period_seconds", StatusHistory.SamplePeriod.TotalSeconds);
        writer.WriteNumber("samples_kept", StatusHistory.Length);
        writer.WritePropertyName("models");
        if (models is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStartArray();
            foreach (var model in models)
            {
                WriteModel(writer, model);
            }

            writer.WriteEndArray();
        }

        writer.WritePropertyName("traffic");
        if (traffic is null)
        {
            writer.WriteStartObject();
            writer.WriteStartArray("splits");
            writer.WriteEndArray();
            writer.WriteStartArray("rollouts");
            writer.WriteEndArray();
            writer.WriteString("summary", NoTraffic);
            writer.WriteEndObject();
        }
        else
        {
            traffic(writer);
        }

        writer.WritePropertyName("nodes");
        if (nodes is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStartArray();
            foreach (var node in nodes)
            {
                writer.WriteStartObject();
                writer.WriteString("id", node.Id);
                writer.WriteString("address", node.Address);
                writer.WriteString("health", node.Available ? "healthy" : "unhealthy");
                writer.WriteString("active", node.Active);
                writer.WriteString("passive", node.Passive);
                writer.WriteBoolean("saturated", node.Saturated);
                writer.WriteNumber("in_flight", node.InFlight);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static void WriteModel(Utf8JsonWriter writer, StatusSeries model)
    {
        var latest = model.Latest;
        writer.WriteStartObject();
        writer.WriteString("name", latest.Model);
        writer.WriteString("version", latest.Version);
        writer.WriteString("state", latest.State);
        writer.WriteString("reason", latest.Reason);
        writer.WriteBoolean("resident", latest.Resident);
        writer.WriteNumber("requests", latest.Successes + latest.Failures);
        writer.WriteNumber("failures", latest.Failures);
        writer.WriteNumber("queued_rows", latest.QueuedRows);
        Number(writer, "drift_threshold", latest.DriftThreshold);
        writer.WriteStartObject("samples");
        Column(writer, "time_ms", model.Samples, s => s.UnixMs);
        Column(writer, "rps", model.Samples, s => s.Rps);
        Column(writer, "p50_ms", model.Samples, s => s.P50Ms);
        Column(writer, "p99_ms", model.Samples, s => s.P99Ms);
        Column(writer, "queued_rows", model.Samples, s => s.QueuedRows);
        Column(writer, "cache_hit_ratio", model.Samples, s => s.CacheHitRatio);
        Column(writer, "drift_psi", model.Samples, s => s.DriftPsi);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    // One series as an array, oldest first; a missing value (or one JSON cannot hold) is null.
    private static void Column(Utf8JsonWriter writer, string name, StatusSample[] samples, Func<StatusSample, double?> value)
    {
        writer.WriteStartArray(name);
        foreach (var sample in samples)
        {
            if (value(sample) is { } v && double.IsFinite(v))
            {
                writer.WriteNumberValue(Math.Round(v, 4));
            }
            else
            {
                writer.WriteNullValue();
            }
        }

        writer.WriteEndArray();
    }

    private static void Number(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
