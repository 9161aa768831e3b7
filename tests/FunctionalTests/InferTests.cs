using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text.Json;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>Inference over HTTP: JSON and binary, flat and nested, batches, datatypes, against ONNX Runtime run directly.</summary>
public class InferTests(TestAssetsServer fixture) : IClassFixture<TestAssetsServer>
{
    private static readonly string MlpModel = Path.Combine(RepoPaths.TestModels, "mlp", "1", "model.onnx");

    private HttpClient Client => fixture.Server.Client;

    private static float[] RandomRows(int rows, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, rows * 64).Select(_ => (float)((random.NextDouble() * 4) - 2))];
    }

    private async Task<Oip.Response> InferAsync(string path, HttpContent content)
    {
        using var response = await Client.PostAsync(path, content);
        return await Oip.ReadAsync(response);
    }

    [Fact]
    public async Task Infer_MlpReferenceInput_MatchesIndependentNumpyReference()
    {
        // tests/Assets/expected/mlp_reference.json: a [4, 64] input and numpy's float32 output, computed
        // without ONNX Runtime (models/mlp/make_mlp.py reference()), so a shared ORT mistake cannot hide.
        using var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "tests", "Assets", "expected", "mlp_reference.json")));
        var root = reference.RootElement;
        static long[] Dims(JsonElement e) => [.. e.EnumerateArray().Select(d => d.GetInt64())];
        static float[] Rows(JsonElement e) => [.. e.EnumerateArray().SelectMany(r => r.EnumerateArray()).Select(v => v.GetSingle())];
        var expected = Rows(root.GetProperty("output"));

        var result = await InferAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest(root.GetProperty("input_name").GetString()!, Dims(root.GetProperty("input_shape")), Rows(root.GetProperty("input")))));

        Assert.Equal(Dims(root.GetProperty("output_shape")), result.Shape(root.GetProperty("output_name").GetString()!));
        var actual = result.Floats("output");
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5 + (1e-5 * Math.Abs(expected[i])), $"output[{i}] = {actual[i]}, numpy says {expected[i]}");
        }
    }

    [Fact]
    public async Task Infer_MlpJson_EqualsOnnxRuntimeRunDirectly()
    {
        var input = RandomRows(1, seed: 1);
        var expected = OrtReference.Run(MlpModel, ("input", [1, 64], input))["output"];

        using var response = await Client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], input, id: "my-id")));
        var result = await Oip.ReadAsync(response);

        Assert.Equal(expected, result.Floats("output"));
        Assert.Equal([1L, 10L], result.Shape("output"));
        Assert.Equal("my-id", result.Json.GetProperty("id").GetString());
        Assert.Equal("mlp", result.Json.GetProperty("model_name").GetString());
        Assert.Equal("1", result.Json.GetProperty("model_version").GetString());
        Assert.Equal("1", response.Headers.GetValues("X-Model-Version").Single());
        Assert.Matches("^sha256:[0-9a-f]{64}$", response.Headers.GetValues("X-Model-Digest").Single());
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("text/plain")]
    [InlineData("application/octet-stream")]
    public async Task Infer_AnyContentTypeWithoutBinaryHeader_IsReadAsJson(string contentType)
    {
        var input = RandomRows(1, seed: 2);

        var result = await InferAsync("v2/models/mlp/versions/1/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], input), contentType));

        Assert.Equal(OrtReference.Run(MlpModel, ("input", [1, 64], input))["output"], result.Floats("output"));
    }

    [Fact]
    public async Task Infer_BinaryInputJsonOutput_EqualsJsonInput()
    {
        var input = RandomRows(2, seed: 3);
        var header = """{"inputs":[{"name":"input","shape":[2,64],"datatype":"FP32","parameters":{"binary_data_size":512}}]}""";

        using var response = await Client.PostAsync("v2/models/mlp/infer", Oip.Binary(header, Oip.Bytes(input)));
        var binaryIn = await Oip.ReadAsync(response);
        var jsonIn = await InferAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [2, 64], input)));

        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.False(response.Headers.Contains(Oip.HeaderLength));
        Assert.Equal(jsonIn.Floats("output"), binaryIn.Floats("output"));
    }

    [Fact]
    public async Task Infer_JsonInputBinaryOutput_ReturnsRawBytesAfterHeader()
    {
        var input = RandomRows(1, seed: 4);

        using var response = await Client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], input, extra: ""","parameters":{"binary_data_output":true}""")));
        var result = await Oip.ReadAsync(response);

        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.Contains(Oip.HeaderLength));
        Assert.Equal(40, result.Binary["output"].Length);
        Assert.False(result.Output("output").TryGetProperty("data", out _));
        Assert.Equal(OrtReference.Run(MlpModel, ("input", [1, 64], input))["output"], result.Floats("output"));
    }

    [Fact]
    public async Task Infer_BinaryBothWays_EqualsOnnxRuntime()
    {
        var input = RandomRows(3, seed: 5);
        var header = """{"inputs":[{"name":"input","shape":[3,64],"datatype":"FP32","parameters":{"binary_data_size":768}}],"outputs":[{"name":"output","parameters":{"binary_data":true}}]}""";

        var result = await InferAsync("v2/models/mlp/infer", Oip.Binary(header, Oip.Bytes(input)));

        Assert.Equal(OrtReference.Run(MlpModel, ("input", [3, 64], input))["output"], result.Floats("output"));
    }

    [Fact]
    public async Task Infer_NestedData_EqualsFlatData()
    {
        var input = RandomRows(2, seed: 6);
        var rows = Enumerable.Range(0, 2).Select(r => "[" + string.Join(",", input.Skip(r * 64).Take(64).Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]");
        var nested = $$"""{"inputs":[{"name":"input","shape":[2,64],"datatype":"FP32","data":[{{string.Join(",", rows)}}]}]}""";

        var nestedResult = await InferAsync("v2/models/mlp/infer", Oip.Json(nested));
        var flatResult = await InferAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [2, 64], input)));

        Assert.Equal(flatResult.Floats("output"), nestedResult.Floats("output"));
    }

    [Fact]
    public async Task Infer_BatchOfFourRows_EqualsFourSingleRows()
    {
        var input = RandomRows(4, seed: 7);

        var batch = await InferAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [4, 64], input)));
        var singles = new List<float>();
        for (var row = 0; row < 4; row++)
        {
            var single = await InferAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], input[(row * 64)..((row + 1) * 64)])));
            singles.AddRange(single.Floats("output"));
        }

        Assert.Equal([4L, 10L], batch.Shape("output"));
        Assert.Equal(singles, batch.Floats("output"));
    }

    [Fact]
    public async Task Infer_OutputsSubset_ReturnsOnlyThoseInRequestOrder()
    {
        var request = """
            {"inputs":[{"name":"a","shape":[2,3],"datatype":"FP32","data":[[1,2,3],[4,5,6]]},
                       {"name":"b","shape":[2,3],"datatype":"FP32","data":[1,1,1,2,2,2]}],
             "outputs":[{"name":"product","parameters":{"binary_data":true}}]}
            """;
        var all = """{"inputs":[{"name":"a","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]},{"name":"b","shape":[2,3],"datatype":"FP32","data":[1,1,1,2,2,2]}]}""";

        var subset = await InferAsync("v2/models/fixed/infer", Oip.Json(request));
        var both = await InferAsync("v2/models/fixed/infer", Oip.Json(all));

        Assert.Equal(["product"], subset.Json.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()));
        Assert.Equal([1f, 2f, 3f, 8f, 10f, 12f], subset.Floats("product"));
        Assert.Equal(["sum", "product"], both.Json.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()));
        Assert.Equal([2f, 3f, 4f, 6f, 7f, 8f], both.Floats("sum"));
    }

    [Fact]
    public async Task Infer_DynamicNonBatchDimension_FollowsTheInput()
    {
        var result = await InferAsync("v2/models/dynamic/infer", Oip.Json("""{"inputs":[{"name":"x","shape":[2,5],"datatype":"FP32","data":[0,1,2,3,4,5,6,7,8,9]}]}"""));

        Assert.Equal([2L, 5L], result.Shape("y"));
        Assert.Equal([.. Enumerable.Range(0, 10).Select(i => i * 2f)], result.Floats("y"));
    }

    [Fact]
    public async Task Infer_VersionedModel_ServesTheVersionAsked()
    {
        var request = """{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,1,1,1]}]}""";

        var latest = await InferAsync("v2/models/versioned/infer", Oip.Json(request));
        var first = await InferAsync("v2/models/versioned/versions/1/infer", Oip.Json(request));

        Assert.Equal("3", latest.Json.GetProperty("model_version").GetString());
        Assert.Equal([4f, 4f, 4f, 4f], latest.Floats("y"));
        Assert.Equal([2f, 2f, 2f, 2f], first.Floats("y"));
    }

    public static TheoryData<string, string, string> DataTypes => new()
    {
        { "bool", "BOOL", "[true,false,true]" },
        { "uint8", "UINT8", "[0,128,255]" },
        { "uint16", "UINT16", "[0,1,65535]" },
        { "uint32", "UINT32", "[0,1,4294967295]" },
        { "uint64", "UINT64", "[0,1,18446744073709551615]" },
        { "int8", "INT8", "[-128,0,127]" },
        { "int16", "INT16", "[-32768,0,32767]" },
        { "int32", "INT32", "[-2147483648,0,2147483647]" },
        { "int64", "INT64", "[-9223372036854775808,0,9223372036854775807]" },
        { "fp16", "FP16", "[0.1,-2.5,65500]" },
        { "fp32", "FP32", "[0.1,-2.5,3.4028235E+38]" },
        { "fp64", "FP64", "[0.1,-2.5,1.7976931348623157E+308]" },
        { "bf16", "BF16", "[1,-3.140625,0.5]" },
        { "string", "BYTES", "[\"a\",\"\",\"h\u00e9 \\\"q\\\"\"]" },
    };

    [Theory]
    [MemberData(nameof(DataTypes))]
    public async Task Infer_EveryDatatypeThroughIdentity_RoundTripsJson(string suffix, string datatype, string data)
    {
        var result = await InferAsync("v2/models/types/infer", Oip.Json(TypesRequest(suffix, datatype, data) + $$""","outputs":[{"name":"y_{{suffix}}"}]}"""));

        var output = result.Output($"y_{suffix}");
        Assert.Equal(datatype, output.GetProperty("datatype").GetString());
        Assert.Equal(data, output.GetProperty("data").GetRawText());
    }

    [Theory]
    [MemberData(nameof(DataTypes))]
    public async Task Infer_EveryDatatypeThroughIdentity_BinaryOutputEqualsJsonInput(string suffix, string datatype, string data)
    {
        // The bytes that come back are the same as the server decoded from JSON: send them back in binary
        // and the JSON answer must be the original data again.
        var binary = await InferAsync("v2/models/types/infer", Oip.Json(TypesRequest(suffix, datatype, data) + $$$""","outputs":[{"name":"y_{{{suffix}}}","parameters":{"binary_data":true}}]}"""));
        var bytes = binary.Binary[$"y_{suffix}"];
        var header = BinaryTypesRequest(suffix, datatype, bytes.Length) + $$""","outputs":[{"name":"y_{{suffix}}"}]}""";

        var roundTrip = await InferAsync("v2/models/types/infer", Oip.Binary(header, AllBinaryInputs(suffix, bytes)));

        Assert.Equal(data, roundTrip.Output($"y_{suffix}").GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task Infer_BinaryBytesInput_KeepsArbitraryBytesWhenAskedAsBinary()
    {
        byte[] element = [0xFF, 0x00, 0x80];
        var blob = new byte[4 + 3 + 4 + 0 + 4 + 3];
        BinaryPrimitives.WriteInt32LittleEndian(blob, 3);
        element.CopyTo(blob, 4);
        BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(7), 0);
        BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(11), 3);
        element.CopyTo(blob, 15);
        var header = BinaryTypesRequest("string", "BYTES", blob.Length);

        var binary = await InferAsync("v2/models/types/infer", Oip.Binary(header + ""","outputs":[{"name":"y_string","parameters":{"binary_data":true}}]}""", AllBinaryInputs("string", blob)));
        using var asJson = await Client.PostAsync("v2/models/types/infer", Oip.Binary(header + ""","outputs":[{"name":"y_string"}]}""", AllBinaryInputs("string", blob)));

        Assert.Equal(blob, binary.Binary["y_string"]);
        Assert.Equal(HttpStatusCode.BadRequest, asJson.StatusCode);
        Assert.Contains("not valid UTF-8", await Oip.ReadErrorAsync(asJson), StringComparison.Ordinal);
    }

    private static readonly (string Suffix, string Type, string Zeros)[] TypeInputs =
    [
        ("bool", "BOOL", "[false,false,false]"), ("uint8", "UINT8", "[0,0,0]"), ("uint16", "UINT16", "[0,0,0]"),
        ("uint32", "UINT32", "[0,0,0]"), ("uint64", "UINT64", "[0,0,0]"), ("int8", "INT8", "[0,0,0]"),
        ("int16", "INT16", "[0,0,0]"), ("int32", "INT32", "[0,0,0]"), ("int64", "INT64", "[0,0,0]"),
        ("fp16", "FP16", "[0,0,0]"), ("fp32", "FP32", "[0,0,0]"), ("fp64", "FP64", "[0,0,0]"),
        ("bf16", "BF16", "[0,0,0]"), ("string", "BYTES", "[\"\",\"\",\"\"]"),
    ];

    // The types model needs every input; the one under test carries the data, the others zeros. No closing brace.
    private static string TypesRequest(string suffix, string datatype, string data) =>
        "{\"inputs\":[" + string.Join(",", TypeInputs.Select(t =>
            $$"""{"name":"x_{{t.Suffix}}","shape":[1,3],"datatype":"{{t.Type}}","data":""" + (t.Suffix == suffix ? data : t.Zeros) + "}")) + "]";

    private static string BinaryTypesRequest(string suffix, string datatype, int size) =>
        "{\"inputs\":[" + string.Join(",", TypeInputs.Select(t => t.Suffix == suffix
            ? $$$"""{"name":"x_{{{t.Suffix}}}","shape":[1,3],"datatype":"{{{datatype}}}","parameters":{"binary_data_size":{{{size}}}}}"""
            : $$"""{"name":"x_{{t.Suffix}}","shape":[1,3],"datatype":"{{t.Type}}","data":""" + t.Zeros + "}")) + "]";

    private static byte[][] AllBinaryInputs(string suffix, byte[] bytes) => [bytes];
}
