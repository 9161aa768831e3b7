using System.Globalization;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>resnet18 and all-MiniLM-L6-v2 served over HTTP give what ONNX Runtime computes directly.</summary>
public class RealModelTests(ExampleModelsServer fixture) : IClassFixture<ExampleModelsServer>
{
    private const string Fetch = "run ./models/fetch.sh to fetch the real models";

    private static float[] Image(int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, 3 * 224 * 224).Select(_ => (float)random.NextDouble())];
    }

    private async Task<Oip.Response> InferBinaryAsync(string model, string input, long[] shape, float[] data)
    {
        var header = $$$"""{"inputs":[{"name":"{{{input}}}","shape":[{{{string.Join(",", shape)}}}],"datatype":"FP32","parameters":{"binary_data_size":{{{data.Length * 4}}}}}],"parameters":{"binary_data_output":true}}""";
        using var response = await fixture.Server.Client.PostAsync($"v2/models/{model}/infer", Oip.Binary(header, Oip.Bytes(data)));
        return await Oip.ReadAsync(response);
    }

    [SkippableFact]
    public async Task Resnet18_Binary_EqualsOnnxRuntime()
    {
        Skip.IfNot(File.Exists(RepoPaths.ExampleModel("resnet18")), Fetch);
        var image = Image(seed: 1);

        var result = await InferBinaryAsync("resnet18", "Input247", [1, 3, 224, 224], image);

        var expected = OrtReference.Run(RepoPaths.ExampleModel("resnet18"), ("Input247", [1, 3, 224, 224], image))["Pooling395_Output_0"];
        Assert.Equal([1L, 512L, 1L, 1L], result.Shape("Pooling395_Output_0"));
        Assert.Equal(expected, result.Floats("Pooling395_Output_0"));
    }

    [SkippableFact]
    public async Task Resnet18_Json_EqualsOnnxRuntime()
    {
        Skip.IfNot(File.Exists(RepoPaths.ExampleModel("resnet18")), Fetch);
        var image = Image(seed: 2);

        using var response = await fixture.Server.Client.PostAsync("v2/models/resnet18/infer", Oip.Json(Oip.JsonRequest("Input247", [1, 3, 224, 224], image)));
        var result = await Oip.ReadAsync(response);

        var expected = OrtReference.Run(RepoPaths.ExampleModel("resnet18"), ("Input247", [1, 3, 224, 224], image))["Pooling395_Output_0"];
        Assert.Equal(expected, result.Floats("Pooling395_Output_0"));
    }

    [SkippableFact]
    public async Task Resnet18Dynamic_BatchOfFour_EqualsFourSingleRunsOfTheOriginal()
    {
        Skip.IfNot(File.Exists(RepoPaths.ExampleModel("resnet18_dynamic")), Fetch + " (the conversion needs python3-onnx)");
        var images = Enumerable.Range(10, 4).Select(Image).ToArray();

        var batch = await InferBinaryAsync("resnet18_dynamic", "Input247", [4, 3, 224, 224], [.. images.SelectMany(i => i)]);

        var singles = images.SelectMany(i => OrtReference.Run(RepoPaths.ExampleModel("resnet18"), ("Input247", [1, 3, 224, 224], i))["Pooling395_Output_0"]).ToArray();
        Assert.Equal([4L, 512L, 1L, 1L], batch.Shape("Pooling395_Output_0"));
        var served = batch.Floats("Pooling395_Output_0");
        Assert.Equal(singles.Length, served.Length);
        for (var i = 0; i < singles.Length; i++)
        {
            Assert.True(Math.Abs(singles[i] - served[i]) <= 1e-4f * Math.Max(1f, Math.Abs(singles[i])), $"element {i}: {served[i]} vs {singles[i]}");
        }
    }

    [SkippableFact]
    public async Task MiniLm_TokenIds_EqualsOnnxRuntime()
    {
        Skip.IfNot(File.Exists(RepoPaths.ExampleModel("minilm")), Fetch);
        // "[CLS] the quick brown fox [SEP]" and "[CLS] hello world [SEP] [PAD]" from vocab.txt, as a batch of 2.
        long[] ids = [101, 1996, 4248, 2829, 4419, 102, 101, 7592, 2088, 102, 0, 0];
        long[] mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
        var types = new long[12];
        string Tensor(string name, long[] data) =>
            $$"""{"name":"{{name}}","shape":[2,6],"datatype":"INT64","data":[{{string.Join(",", data.Select(v => v.ToString(CultureInfo.InvariantCulture)))}}]}""";
        var body = $$"""{"inputs":[{{Tensor("input_ids", ids)}},{{Tensor("attention_mask", mask)}},{{Tensor("token_type_ids", types)}}]}""";

        using var response = await fixture.Server.Client.PostAsync("v2/models/minilm/infer", Oip.Json(body));
        var result = await Oip.ReadAsync(response);

        var expected = OrtReference.Run(RepoPaths.ExampleModel("minilm"), ("input_ids", [2, 6], ids), ("attention_mask", [2, 6], mask), ("token_type_ids", [2, 6], types));
        Assert.Equal([2L, 6L, 384L], result.Shape("last_hidden_state"));
        Assert.Equal(expected["last_hidden_state"], result.Floats("last_hidden_state"));
        Assert.Equal([2L, 384L], result.Shape("924"));
        Assert.Equal(expected["924"], result.Floats("924"));
    }

    [SkippableTheory]
    [InlineData("[101,7592,102]", "[1,2]", "[1,1]", "disagree on dimension 'sequence'")]
    [InlineData("[101,999999,102]", "[1,3]", "[1,1,1]", "could not run on this input")]
    public async Task MiniLm_InputsTheModelCannotRun_Is400NotA500(string ids, string maskShape, string mask, string expected)
    {
        Skip.IfNot(File.Exists(RepoPaths.ExampleModel("minilm")), Fetch);
        var body = $$"""{"inputs":[{"name":"input_ids","shape":[1,3],"datatype":"INT64","data":{{ids}}},{"name":"attention_mask","shape":{{maskShape}},"datatype":"INT64","data":{{mask}}},{"name":"token_type_ids","shape":[1,3],"datatype":"INT64","data":[0,0,0]}]}""";

        using var response = await fixture.Server.Client.PostAsync("v2/models/minilm/infer", Oip.Json(body));

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, await Oip.ReadErrorAsync(response), StringComparison.Ordinal);
    }
}
