using System.Text.Json.Nodes;
using ServingGateway.LoadTool.Payloads;

namespace ServingGateway.LoadTool.Tests.Payloads;

public sealed class PayloadGeneratorTests
{
    private const string MlpMetadata = """
        {"name":"mlp","versions":["1"],"platform":"onnxruntime_onnx",
         "inputs":[{"name":"input","datatype":"FP32","shape":[-1,64]}],
         "outputs":[{"name":"output","datatype":"FP32","shape":[-1,10]}],"parameters":{"max_batch_size":64}}
        """;

    private const string MiniLmMetadata = """
        {"name":"minilm","versions":["1"],"platform":"onnxruntime_onnx","inputs":[
          {"name":"input_ids","datatype":"INT64","shape":[-1,-1]},
          {"name":"attention_mask","datatype":"INT64","shape":[-1,-1]},
          {"name":"token_type_ids","datatype":"INT64","shape":[-1,-1]}],"outputs":[]}
        """;

    [Fact]
    public void Generate_DynamicBatch_IsOneRowOfRandomFloats()
    {
        var request = PayloadGenerator.Generate(ModelMetadata.Parse(MlpMetadata), new Dictionary<string, long[]>(), seed: 1);

        var input = Assert.Single(request["inputs"]!.AsArray())!;
        Assert.Equal("input", input["name"]!.GetValue<string>());
        Assert.Equal("FP32", input["datatype"]!.GetValue<string>());
        Assert.Equal([1L, 64L], input["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
        var data = input["data"]!.AsArray().Select(v => v!.GetValue<double>()).ToList();
        Assert.Equal(64, data.Count);
        Assert.All(data, v => Assert.InRange(v, 0, 1));
        Assert.True(data.Distinct().Count() > 10);
    }

    [Fact]
    public void Generate_DimSwitch_SetsTheDynamicDimensions()
    {
        var request = PayloadGenerator.Generate(ModelMetadata.Parse(MlpMetadata), new Dictionary<string, long[]> { ["input"] = [4] }, seed: 1);

        Assert.Equal(4 * 64, request["inputs"]![0]!["data"]!.AsArray().Count);
    }

    [Fact]
    public void Generate_StarDimForTokenInputs_GivesEveryInputTheShapeAndZeroOrOneValues()
    {
        var request = PayloadGenerator.Generate(ModelMetadata.Parse(MiniLmMetadata), new Dictionary<string, long[]> { ["*"] = [2, 8] }, seed: 1);

        var inputs = request["inputs"]!.AsArray();
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], inputs.Select(i => i!["name"]!.GetValue<string>()));
        Assert.All(inputs, i =>
        {
            Assert.Equal([2L, 8L], i!["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
            Assert.All(i["data"]!.AsArray(), v => Assert.InRange(v!.GetValue<int>(), 0, 1));
        });
    }

    [Fact]
    public void Generate_SameSeed_SameRequest_OtherSeed_Differs()
    {
        var metadata = ModelMetadata.Parse(MlpMetadata);
        var dims = new Dictionary<string, long[]>();

        var a = PayloadGenerator.Generate(metadata, dims, 1).ToJsonString();

        Assert.Equal(a, PayloadGenerator.Generate(metadata, dims, 1).ToJsonString());
        Assert.NotEqual(a, PayloadGenerator.Generate(metadata, dims, 2).ToJsonString());
    }

    [Fact]
    public void ResolveShape_WrongNumberOfSizes_ThrowsNamingTheInput()
    {
        var input = new TensorMetadata("input", "FP32", [-1, 64]);

        var ex = Assert.Throws<LoadToolException>(() => PayloadGenerator.ResolveShape(input, new Dictionary<string, long[]> { ["input"] = [1, 2] }));

        Assert.Contains("'input'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MetadataWithoutInputs_Throws()
    {
        Assert.Throws<LoadToolException>(() => ModelMetadata.Parse("""{"name":"x","inputs":[]}"""));
        Assert.Throws<LoadToolException>(() => ModelMetadata.Parse("not json"));
    }

    [Fact]
    public void Generate_UnknownDatatype_Throws()
    {
        var metadata = new ModelMetadata("x", [new TensorMetadata("t", "COMPLEX64", [1])]);

        Assert.Throws<LoadToolException>(() => PayloadGenerator.Generate(metadata, new Dictionary<string, long[]>(), 1));
    }

    [Fact]
    public void Generate_Result_IsAJsonObjectWithInputsOnly()
    {
        var request = PayloadGenerator.Generate(ModelMetadata.Parse(MlpMetadata), new Dictionary<string, long[]>(), 1);

        Assert.Equal(["inputs"], request.Select(p => p.Key));
        Assert.IsType<JsonArray>(request["inputs"]);
    }
}
