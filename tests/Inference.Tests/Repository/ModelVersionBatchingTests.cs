using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Repository;

/// <summary>Concurrent requests through a version's batcher, checked against the same model with batching off.</summary>
public sealed class ModelVersionBatchingTests : IAsyncLifetime
{
    private readonly TempModelRepository _models = new("mlp", "dynamic");
    private ModelRepository _repository = null!;

    public async Task InitializeAsync()
    {
        _models.AddVersion("mlp_off", 1, "mlp", 1);
        _models.WriteConfig("mlp_off", """{"max_batch_size": 64, "instances": 1, "batching": "off"}""");
        _models.WriteConfig("mlp", """{"max_batch_size": 16, "instances": 1}""");
        _repository = Repositories.Create(_models.Path, new NodeMetrics(), TimeProvider.System);
        await _repository.LoadAllAsync(CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        _repository.Dispose();
        _models.Dispose();
        return Task.CompletedTask;
    }

    private Task<float[]> InferAsync(string model, string json) => RepositoryInference.InferAsync(_repository, model, json);

    [Fact]
    public async Task Randomized_ConcurrentRequests_EachGetsTheRowsItWouldGetAlone()
    {
        var random = new Random(7);
        var requests = Enumerable.Range(0, 400).Select(i =>
        {
            if (i % 2 == 0)
            {
                var rows = random.Next(1, 5);
                var data = Enumerable.Range(0, rows * 64).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
                return (Model: "mlp", Json: $$"""{"inputs":[{"name":"input","shape":[{{rows}},64],"datatype":"FP32","data":[{{string.Join(",", data)}}]}]}""", Expected: (float[]?)null);
            }

            var batch = random.Next(1, 4);
            var seq = random.Next(1, 4);
            var values = Enumerable.Range(0, batch * seq).Select(_ => (float)random.Next(-100, 100)).ToArray();
            return (Model: "dynamic", Json: $$"""{"inputs":[{"name":"x","shape":[{{batch}},{{seq}}],"datatype":"FP32","data":[{{string.Join(",", values)}}]}]}""", Expected: values.Select(v => v * 2).ToArray());
        }).ToArray();

        var results = await Task.WhenAll(requests.Select(r => Task.Run(() => InferAsync(r.Model, r.Json))));

        var mlp = _repository.GetReady("mlp")![0].Statistics;
        var dynamic = _repository.GetReady("dynamic")![0].Statistics;
        Assert.True(mlp.ExecutionCount + dynamic.ExecutionCount < requests.Length, "some requests should have shared a batch");
        for (var i = 0; i < requests.Length; i++)
        {
            var expected = requests[i].Expected ?? await InferAsync("mlp_off", requests[i].Json);
            Assert.Equal(expected.Length, results[i].Length);
            for (var j = 0; j < expected.Length; j++)
            {
                Assert.True(Math.Abs(expected[j] - results[i][j]) <= 1e-5f, $"request {i} element {j}: {results[i][j]} batched, {expected[j]} alone");
            }
        }

        // With batching off, every request ran alone.
        Assert.Equal(requests.Length / 2, _repository.GetReady("mlp_off")![0].Statistics.ExecutionCount);
    }

    [Fact]
    public async Task Infer_PriorityOutOfRange_Is400()
    {
        var ex = await Assert.ThrowsAsync<InferenceException>(() => InferAsync("dynamic", """{"parameters":{"priority":2},"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]}"""));

        Assert.Equal(400, ex.StatusCode);
        Assert.Contains("priority_levels 1", ex.Message, StringComparison.Ordinal);
    }
}
