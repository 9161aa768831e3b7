using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using ServingGateway.Inference.Drift;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;
using ServingGateway.Inference.Tests.Protocol;

namespace ServingGateway.Inference.Tests.Drift;

public class DriftMonitorTests
{
    private const int Window = 1000;

    // a: 4 continuous features; ids: 3 categorical features; image: one whole-input feature (3 x 8 x 8 > 64 elements); text: BYTES, not watched.
    private static readonly ModelSignature Signature = new(
        [
            Signatures.Spec("a", TensorDataType.Fp32, -1, 4),
            Signatures.Spec("ids", TensorDataType.Int64, -1, 3),
            Signatures.Spec("image", TensorDataType.Fp32, -1, 3, 8, 8),
            Signatures.Spec("text", TensorDataType.Bytes, -1, 1),
        ],
        [Signatures.Spec("y", TensorDataType.Fp32, -1, 1)],
        8);

    [Fact]
    public void Of_Signature_DefinesFeaturesPerElementOrWholeAndSkipsBytes()
    {
        var inputs = DriftInput.Of(Signature);

        Assert.Equal(["a", "ids", "image"], inputs.Select(i => i.Name));
        Assert.Equal([4, 3, 1], inputs.Select(i => i.Features.Length));
        Assert.Equal(["continuous", "categorical", "continuous"], inputs.Select(i => i.Features[0].Kind));
        Assert.Equal("a[2]", inputs[0].FeatureName(2));
        Assert.Equal("image", inputs[2].FeatureName(0));
    }

    [Fact]
    public void Process_ShiftedInput_OnlyThatInputDrifts()
    {
        var metrics = new NodeMetrics();
        using var monitor = Monitor(metrics);
        var random = new Random(7);

        Feed(monitor, random, Window, shiftA: 0, shiftIds: false); // the reference window
        Feed(monitor, random, Window, shiftA: 0, shiftIds: false);
        var same = monitor.InputPsi();
        Feed(monitor, random, Window, shiftA: 1, shiftIds: false);
        var shifted = monitor.InputPsi();

        Assert.All(same, p => Assert.True(p.Value < 0.1, $"{p.Key}: {p.Value}"));
        Assert.True(shifted["a"] > 0.2, $"a: {shifted["a"]}");
        Assert.True(shifted["ids"] < 0.1, $"ids: {shifted["ids"]}");
        Assert.True(shifted["image"] < 0.1, $"image: {shifted["image"]}");
        var exported = Export(metrics);
        Assert.Contains($"sg_input_drift_psi{{model=\"m\",version=\"1\",input=\"a\"}} {shifted["a"].ToString(System.Globalization.CultureInfo.InvariantCulture)}", exported, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_AfterWindows_ReportsWindowsReferenceAndTopFeatures()
    {
        using var monitor = Monitor(new NodeMetrics());
        var random = new Random(8);
        Feed(monitor, random, Window, shiftA: 0, shiftIds: false);
        Feed(monitor, random, Window + 10, shiftA: 0, shiftIds: true);

        using var json = JsonDocument.Parse(Write(monitor.Write));
        var root = json.RootElement;

        Assert.Equal("window", root.GetProperty("reference").GetProperty("source").GetString());
        Assert.Equal(Window, root.GetProperty("reference").GetProperty("rows").GetInt32());
        Assert.Equal(1, root.GetProperty("live").GetProperty("windows").GetInt32());
        Assert.Equal(10, root.GetProperty("live").GetProperty("rows").GetInt32());
        Assert.Equal(8, root.GetProperty("features").GetArrayLength()); // 4 + 3 + 1
        var top = root.GetProperty("top").EnumerateArray().First();
        Assert.Equal("ids", top.GetProperty("input").GetString());
        Assert.True(top.GetProperty("drifting").GetBoolean());
        var inputs = root.GetProperty("inputs").EnumerateArray().ToDictionary(i => i.GetProperty("name").GetString()!, i => i.GetProperty("drifting").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["a"] = false, ["ids"] = true, ["image"] = false }, inputs);
    }

    [Fact]
    public void Write_BeforeAWindow_PsiIsNullAndMetricNaN()
    {
        var metrics = new NodeMetrics();
        using var monitor = Monitor(metrics);

        using var json = JsonDocument.Parse(Write(monitor.Write));

        Assert.All(json.RootElement.GetProperty("inputs").EnumerateArray(), i => Assert.Equal(JsonValueKind.Null, i.GetProperty("psi").ValueKind));
        Assert.False(json.RootElement.GetProperty("reference").GetProperty("complete").GetBoolean());
        Assert.Contains("sg_input_drift_psi{model=\"m\",version=\"1\",input=\"ids\"} NaN", Export(metrics), StringComparison.Ordinal);
        Assert.Contains("sg_input_drift_threshold{model=\"m\",version=\"1\"} 0.1", Export(metrics), StringComparison.Ordinal);
    }

    [Fact]
    public void Dispose_RemovesTheGauges()
    {
        var metrics = new NodeMetrics();
        var monitor = Monitor(metrics);

        monitor.Dispose();

        Assert.DoesNotContain("sg_input_drift_psi{", Export(metrics), StringComparison.Ordinal);
        Assert.DoesNotContain("sg_input_drift_threshold{", Export(metrics), StringComparison.Ordinal);
    }

    [Fact]
    public void Sample_LargeBatch_CopiesTheFirstRowsOnlyAndStridesWholeInputs()
    {
        using var monitor = Monitor(new NodeMetrics());
        using var request = Request(new Random(9), 20, shiftA: 0, shiftIds: false);

        var sample = monitor.Sample(request);

        Assert.Equal(DriftMonitor.MaxRowsPerSample, sample.Rows);
        Assert.Equal([8 * 4, 8 * 3, 8 * DriftInput.MaxFeatures], sample.Values.Select(v => v.Length));
        Assert.Equal(BinaryPrimitives.ReadSingleLittleEndian(request.Inputs[0].Span[(4 * 4)..]), sample.Values[0][4]); // row 1, element 0
        Assert.Equal(BinaryPrimitives.ReadSingleLittleEndian(request.Inputs[2].Span[(192 * 4)..]), sample.Values[2][64]); // row 1, element 0 of the image
    }

    [Fact]
    public async Task Observe_RatioOne_LoopProcessesEverySample()
    {
        var monitor = Monitor(new NodeMetrics());
        var random = new Random(10);
        for (var i = 0; i < 30; i++)
        {
            using var request = Request(random, 2, shiftA: 0, shiftIds: false);
            monitor.Observe(request);
        }

        monitor.Dispose();
        await monitor.Completion.WaitAsync(TimeSpan.FromSeconds(30));

        using var json = JsonDocument.Parse(Write(monitor.Write));
        Assert.Equal(0, monitor.Dropped);
        Assert.Equal(60, json.RootElement.GetProperty("sampled_rows").GetInt64());
    }

    [Fact]
    public void ReferenceFile_Valid_ComparesFromTheFirstWindow()
    {
        var random = new Random(11);
        var file = Path.Combine(Path.GetTempPath(), $"sg-drift-{Guid.NewGuid():N}.json");
        try
        {
            // The reference a window took, written as drift_reference.json and read back by a new monitor.
            using (var first = Monitor(new NodeMetrics()))
            {
                Feed(first, random, Window, shiftA: 0, shiftIds: false);
                using var stream = new MemoryStream();
                using (var writer = new Utf8JsonWriter(stream))
                {
                    first.WriteReference(writer);
                }

                File.WriteAllBytes(file, stream.ToArray());
            }

            using var monitor = Monitor(new NodeMetrics(), file);
            Assert.Equal("file", monitor.ReferenceSource);
            Feed(monitor, random, Window, shiftA: 1, shiftIds: false);

            var psi = monitor.InputPsi();
            Assert.True(psi["a"] > 0.2, $"a: {psi["a"]}");
            Assert.True(psi["ids"] < 0.1, $"ids: {psi["ids"]}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void ReferenceFile_Invalid_ListsEveryProblem()
    {
        var file = Path.Combine(Path.GetTempPath(), $"sg-drift-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(file, """
                {"inputs": {
                  "a": {"features": [{"edges": [2, 1], "fractions": [0.5, 0.5, 0]}, {}, {}, {}]},
                  "ids": {"kind": "continuous", "features": []},
                  "nope": {"features": []}
                }}
                """);

            var error = Assert.Throws<InvalidDataException>(() => Monitor(new NodeMetrics(), file));

            Assert.Contains("\"nope\" is not a watched input", error.Message, StringComparison.Ordinal);
            Assert.Contains("no entry for input \"image\"", error.Message, StringComparison.Ordinal);
            Assert.Contains("\"ids\": \"kind\" must be \"categorical\"", error.Message, StringComparison.Ordinal);
            Assert.Contains("\"ids\": \"features\" must be an array of 3 features", error.Message, StringComparison.Ordinal);
            Assert.Contains("\"a\" feature 0: a continuous feature needs \"edges\"", error.Message, StringComparison.Ordinal);
            Assert.Contains("\"a\" feature 1: \"fractions\" must be an array", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static DriftMonitor Monitor(NodeMetrics metrics, string? referenceFile = null) =>
        new("m", "1", Signature, new DriftSettings(true, 1, Window, 0.1), referenceFile, metrics, NullLogger.Instance);

    // rows rows of one request each: a ~ N(shiftA, 1), ids Zipf over 30 tokens (shifted: 10 + that), image ~ N(0, 1).
    private static void Feed(DriftMonitor monitor, Random random, int rows, double shiftA, bool shiftIds)
    {
        for (var i = 0; i < rows; i++)
        {
            using var request = Request(random, 1, shiftA, shiftIds);
            monitor.Process(monitor.Sample(request));
        }
    }

    private static InferRequest Request(Random random, int rows, double shiftA, bool shiftIds)
    {
        var a = PooledTensor.Rent("a", TensorDataType.Fp32, [rows, 4], rows * 4, rows * 16);
        var ids = PooledTensor.Rent("ids", TensorDataType.Int64, [rows, 3], rows * 3, rows * 24);
        var image = PooledTensor.Rent("image", TensorDataType.Fp32, [rows, 3, 8, 8], rows * 192, rows * 192 * 4);
        var text = PooledTensor.Rent("text", TensorDataType.Bytes, [rows, 1], rows, rows * 4);
        for (var i = 0; i < rows * 4; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(a.Span[(i * 4)..], (float)DriftSketchTests.Normal(random, shiftA));
        }

        for (var i = 0; i < rows * 3; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(ids.Span[(i * 8)..], DriftSketchTests.Zipf(random, 30) + (shiftIds ? 10 : 0));
        }

        for (var i = 0; i < rows * 192; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(image.Span[(i * 4)..], (float)DriftSketchTests.Normal(random, 0));
        }

        text.Span.Clear();
        return new InferRequest(null, [a, ids, image, text], [], rows);
    }

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string Export(NodeMetrics metrics)
    {
        using var stream = new MemoryStream();
        metrics.Registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
