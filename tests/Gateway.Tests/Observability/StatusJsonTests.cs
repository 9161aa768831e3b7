using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.Inference;
using ServingGateway.Inference.Metrics;
using ServingGateway.Observability;

namespace ServingGateway.Gateway.Tests.Observability;

/// <summary>The body of GET /status/data (docs/API.md), from a history sampled on a fake clock.</summary>
public sealed class StatusJsonTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 21, 0, 0, TimeSpan.Zero);

    private static JsonElement Write(string role, IReadOnlyList<StatusSeries>? models, IReadOnlyList<NodeHealthReading>? nodes, DateTimeOffset now)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            StatusJson.Write(writer, role, now, models, nodes, traffic: null);
        }

        return JsonDocument.Parse(buffer.WrittenMemory).RootElement.Clone();
    }

    private static double?[] Column(JsonElement samples, string name) =>
        [.. samples.GetProperty(name).EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? (double?)null : v.GetDouble())];

    [Fact]
    public void Write_StandaloneHistory_ModelsWithColumnsTrafficNoneAndNoNodes()
    {
        var time = new FakeTimeProvider(Start);
        var readings = new List<VersionReading>
        {
            new("broken", "1", "UNAVAILABLE", "Protobuf parsing failed", false, 0, 0, 0, 0, 0, null, null, []),
            StatusHistoryTests.Ready("mlp", 0),
        };
        var history = new StatusHistory(() => [.. readings], time);
        history.Sample();
        time.Advance(StatusHistory.SamplePeriod);
        var latency = new long[LatencyBuckets.Count];
        latency[LatencyBuckets.IndexOf(1_000_000)] = 50;
        readings[1] = StatusHistoryTests.Ready("mlp", 50, failures: 2, hits: 5, misses: 15, queued: 3, psi: 0.31, latency: latency);
        history.Sample();
        time.Advance(StatusHistory.SamplePeriod);
        readings[1] = StatusHistoryTests.Ready("mlp", 50, failures: 2, hits: 5, misses: 15, psi: 0.31, latency: latency);
        history.Sample();

        var json = Write("standalone", history.Snapshot(), null, time.GetUtcNow());

        Assert.Equal("standalone", json.GetProperty("role").GetString());
        Assert.Equal("2026-11-30T21:00:10.000Z", json.GetProperty("time").GetString());
        Assert.Equal(5, json.GetProperty("sample_period_seconds").GetDouble());
        Assert.Equal(120, json.GetProperty("samples_kept").GetInt32());
        var models = json.GetProperty("models").EnumerateArray().ToArray();
        Assert.Equal(["broken", "mlp"], models.Select(m => m.GetProperty("name").GetString()));

        var broken = models[0];
        Assert.Equal("UNAVAILABLE", broken.GetProperty("state").GetString());
        Assert.Equal("Protobuf parsing failed", broken.GetProperty("reason").GetString());
        Assert.False(broken.GetProperty("resident").GetBoolean());
        Assert.Equal(0, broken.GetProperty("samples").GetProperty("rps").GetArrayLength());

        var mlp = models[1];
        Assert.Equal("1", mlp.GetProperty("version").GetString());
        Assert.Equal("READY", mlp.GetProperty("state").GetString());
        Assert.True(mlp.GetProperty("resident").GetBoolean());
        Assert.Equal(52, mlp.GetProperty("requests").GetInt64());
        Assert.Equal(2, mlp.GetProperty("failures").GetInt64());
        Assert.Equal(0, mlp.GetProperty("queued_rows").GetInt32());
        Assert.Equal(0.2, mlp.GetProperty("drift_threshold").GetDouble());
        var samples = mlp.GetProperty("samples");
        Assert.Equal([(double)Start.AddSeconds(5).ToUnixTimeMilliseconds(), Start.AddSeconds(10).ToUnixTimeMilliseconds()], Column(samples, "time_ms"));
        Assert.Equal([10.4, 0], Column(samples, "rps")); // 52 requests in 5 s, then none
        Assert.InRange(Column(samples, "p50_ms")[0]!.Value, 0.7, 1);
        Assert.Null(Column(samples, "p50_ms")[1]);
        Assert.Null(Column(samples, "p99_ms")[1]);
        Assert.Equal([3, 0], Column(samples, "queued_rows"));
        Assert.Equal([0.25, null], Column(samples, "cache_hit_ratio"));
        Assert.Equal([0.31, 0.31], Column(samples, "drift_psi"));

        var traffic = json.GetProperty("traffic");
        Assert.Equal(0, traffic.GetProperty("splits").GetArrayLength());
        Assert.Equal(0, traffic.GetProperty("rollouts").GetArrayLength());
        Assert.StartsWith("none", traffic.GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("nodes").ValueKind);
    }

    [Fact]
    public void Write_DriftOffAndValuesJsonCannotHold_WrittenAsNull()
    {
        var series = new StatusSeries(
            StatusHistoryTests.Ready("mlp", 1),
            [new StatusSample(1, double.NaN, double.PositiveInfinity, null, 0, double.NaN, null)]);

        var json = Write("node", [series], null, Start);

        var mlp = json.GetProperty("models")[0];
        Assert.Equal(JsonValueKind.Null, mlp.GetProperty("drift_threshold").ValueKind);
        var samples = mlp.GetProperty("samples");
        Assert.Equal([null], Column(samples, "rps"));
        Assert.Equal([null], Column(samples, "p50_ms"));
        Assert.Equal([null], Column(samples, "cache_hit_ratio"));
    }

    [Fact]
    public void Write_Edge_NodesWithTheirHealthAndNoModels()
    {
        NodeHealthReading[] nodes =
        [
            new("node-0", "http://10.0.0.1:8000/", true, "healthy", "unknown", false, 3),
            new("node-1", "http://10.0.0.2:8000/", false, "unhealthy", "healthy", true, 0),
        ];

        var json = Write("edge", null, nodes, Start);

        Assert.Equal(JsonValueKind.Null, json.GetProperty("models").ValueKind);
        var written = json.GetProperty("nodes").EnumerateArray().ToArray();
        Assert.Equal(2, written.Length);
        Assert.Equal("node-0", written[0].GetProperty("id").GetString());
        Assert.Equal("http://10.0.0.1:8000/", written[0].GetProperty("address").GetString());
        Assert.Equal("healthy", written[0].GetProperty("health").GetString());
        Assert.Equal("healthy", written[0].GetProperty("active").GetString());
        Assert.Equal("unknown", written[0].GetProperty("passive").GetString());
        Assert.False(written[0].GetProperty("saturated").GetBoolean());
        Assert.Equal(3, written[0].GetProperty("in_flight").GetInt32());
        Assert.Equal("unhealthy", written[1].GetProperty("health").GetString());
        Assert.True(written[1].GetProperty("saturated").GetBoolean());
    }
}
