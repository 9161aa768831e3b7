using System.Runtime.InteropServices;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;
using ServingGateway.Inference.Tensors;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Repository;

public sealed class ModelRepositoryTests : IDisposable
{
    private readonly TempModelRepository _models = new("mlp", "versioned", "fixed", "broken");

    public void Dispose() => _models.Dispose();

    private ModelRepository CreateRepository() => Repositories.Create(_models.Path, new NodeMetrics(), TimeProvider.System);

    private static async Task<ModelRepository> LoadedAsync(ModelRepository repository)
    {
        await repository.LoadAllAsync(CancellationToken.None);
        return repository;
    }

    private static float[] RunVersioned(ModelHost version)
    {
        using var request = InferRequestReader.Read("""{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[0,0,0,0]}]}"""u8, null, version.Signature);
        var outputs = version.InferAsync(request, CancellationToken.None).GetAwaiter().GetResult();
        try
        {
            return MemoryMarshal.Cast<byte, float>(outputs[0].Span).ToArray();
        }
        finally
        {
            outputs[0].Dispose();
        }
    }

    [Fact]
    public async Task LoadAll_BrokenModelBesideGoodOnes_ReportsItAndServesTheRest()
    {
        using var repository = await LoadedAsync(CreateRepository());

        var index = repository.GetIndex();
        var broken = Assert.Single(index, r => r.Name == "broken");
        Assert.Equal("UNAVAILABLE", broken.State);
        Assert.Contains("protobuf", broken.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("READY", Assert.Single(index, r => r.Name == "mlp").State);
        Assert.Equal(["3", "2", "1"], index.Where(r => r.Name == "versioned").Select(r => r.Version));
        Assert.True(repository.IsReady);
        var ex = Assert.Throws<InferenceException>(() => repository.Acquire("broken", null));
        Assert.Equal(404, ex.StatusCode);
        Assert.Contains("no ready version", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acquire_NoVersion_TakesHighestReady()
    {
        using var repository = await LoadedAsync(CreateRepository());

        var version = repository.Acquire("versioned", null);
        try
        {
            Assert.Equal(3, version.Version);
            Assert.Equal([3f, 3f, 3f, 3f], RunVersioned(version));
        }
        finally
        {
            version.Release();
        }
    }

    [Theory]
    [InlineData("nope", null, "unknown model 'nope'")]
    [InlineData("versioned", "9", "has no version 9")]
    [InlineData("versioned", "abc", "versions are numbers")]
    [InlineData("versioned", "-1", "versions are numbers")]
    public async Task Acquire_UnknownModelOrVersion_Is404(string model, string? version, string expected)
    {
        using var repository = await LoadedAsync(CreateRepository());

        var ex = Assert.Throws<InferenceException>(() => repository.Acquire(model, version));

        Assert.Equal(404, ex.StatusCode);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signature_ReadsShapesAndDerivesBatching()
    {
        using var repository = await LoadedAsync(CreateRepository());

        var mlp = repository.GetReady("mlp")![0];
        var fixedModel = repository.GetReady("fixed")![0];

        Assert.Equal(64, mlp.Signature.MaxBatchSize);
        Assert.Equal([-1L, 64L], mlp.Signature.Inputs[0].Shape);
        Assert.Equal(TensorDataType.Fp32, mlp.Signature.Outputs[0].DataType);
        Assert.Equal(0, fixedModel.Signature.MaxBatchSize);
        Assert.Equal(["a", "b"], fixedModel.Signature.Inputs.Select(i => i.Name));
        Assert.Equal(["sum", "product"], fixedModel.Signature.Outputs.Select(i => i.Name));
        Assert.Matches("^sha256:[0-9a-f]{64}$", mlp.Digest);
    }

    [Fact]
    public async Task LoadAsync_NewVersionAdded_LoadsItAndKeepsTheServingOnes()
    {
        using var repository = await LoadedAsync(CreateRepository());
        var before = repository.GetReady("versioned")!;
        _models.AddVersion("versioned", 4, "versioned", 1);

        await repository.LoadAsync("versioned", CancellationToken.None);

        var after = repository.GetReady("versioned")!;
        Assert.Equal([4L, 3L, 2L, 1L], after.Select(v => v.Version));
        Assert.Same(before[0], after[1]);
        Assert.Equal([1f, 1f, 1f, 1f], RunVersioned(after[0]));
    }

    [Fact]
    public async Task LoadAsync_ConfigNarrowsPolicy_RetiresVersionsAndFreesSessions()
    {
        using var repository = await LoadedAsync(CreateRepository());
        var sessionsBefore = repository.Counters.LiveSessions;
        _models.WriteConfig("versioned", """{"max_batch_size": 8, "instances": 1, "version_policy": {"latest": {"num_versions": 1}}}""");

        await repository.LoadAsync("versioned", CancellationToken.None);

        Assert.Equal([3L], repository.GetReady("versioned")!.Select(v => v.Version));
        Assert.Equal(sessionsBefore - 2, repository.Counters.LiveSessions);
    }

    [Fact]
    public async Task LoadAsync_FileChangedInVersion_ReloadsWithNewDigest()
    {
        using var repository = await LoadedAsync(CreateRepository());
        var old = repository.GetReady("versioned")![0];
        File.WriteAllText(Path.Combine(_models.Path, "versioned", "3", "notes.txt"), "changed");

        await repository.LoadAsync("versioned", CancellationToken.None);

        var reloaded = repository.GetReady("versioned")![0];
        Assert.NotSame(old, reloaded);
        Assert.NotEqual(old.Digest, reloaded.Digest);
        Assert.False(old.TryAcquire());
    }

    [Fact]
    public async Task LoadAsync_UnknownFolder_Is404_BadConfig_Is400WithReason()
    {
        using var repository = await LoadedAsync(CreateRepository());
        _models.WriteConfig("mlp", """{"instances": "two"}""");

        var missing = await Assert.ThrowsAsync<InferenceException>(() => repository.LoadAsync("nope", CancellationToken.None));
        var traversal = await Assert.ThrowsAsync<InferenceException>(() => repository.LoadAsync("..", CancellationToken.None));
        var bad = await Assert.ThrowsAsync<InferenceException>(() => repository.LoadAsync("mlp", CancellationToken.None));

        Assert.Equal(404, missing.StatusCode);
        Assert.Equal(404, traversal.StatusCode);
        Assert.Equal(400, bad.StatusCode);
        Assert.Contains("\"instances\" must be an integer", bad.Message, StringComparison.Ordinal);
        Assert.Contains("\"instances\"", Assert.Single(repository.GetIndex(), r => r.Name == "mlp").Reason, StringComparison.Ordinal);
        Assert.Null(repository.GetReady("mlp")!.FirstOrDefault());
    }

    [Fact]
    public async Task LoadAsync_BatchingOnFixedShapes_IsUnavailableWithReason()
    {
        using var repository = CreateRepository();
        _models.WriteConfig("fixed", """{"max_batch_size": 4}""");

        await repository.LoadAllAsync(CancellationToken.None);

        var row = Assert.Single(repository.GetIndex(), r => r.Name == "fixed");
        Assert.Equal("UNAVAILABLE", row.State);
        Assert.Contains("max_batch_size 4 needs a dynamic first dimension", row.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_CudaRequiredOnCpuBuild_IsUnavailableWithReason()
    {
        using var repository = CreateRepository();
        _models.WriteConfig("mlp", """{"execution_provider": "cuda"}""");

        await repository.LoadAllAsync(CancellationToken.None);

        var row = Assert.Single(repository.GetIndex(), r => r.Name == "mlp");
        Assert.Equal("UNAVAILABLE", row.State);
        Assert.Contains("execution_provider is cuda but CUDA is not available", row.Reason, StringComparison.Ordinal);
        Assert.Equal(0, repository.Counters.LiveSessions - repository.GetReady("versioned")!.Sum(v => v.InstanceCount) - repository.GetReady("fixed")!.Sum(v => v.InstanceCount));
    }

    [Fact]
    public async Task UnloadAsync_RequestInFlight_SessionsLiveUntilItReleases()
    {
        using var repository = await LoadedAsync(CreateRepository());
        var inFlight = repository.Acquire("mlp", null);
        var mlpSessions = inFlight.InstanceCount;
        var before = repository.Counters.LiveSessions;

        await repository.UnloadAsync("mlp", CancellationToken.None);

        Assert.Equal(before, repository.Counters.LiveSessions);
        Assert.Equal(404, Assert.Throws<InferenceException>(() => repository.Acquire("mlp", null)).StatusCode);
        Assert.Equal("unloaded", Assert.Single(repository.GetIndex(), r => r.Name == "mlp").Reason);
        inFlight.Release();
        Assert.Equal(before - mlpSessions, repository.Counters.LiveSessions);
    }

    [Fact]
    public async Task LoadUnloadCycles_WithInference_LeaveNoNativeObjects()
    {
        using var repository = await LoadedAsync(CreateRepository());
        for (var cycle = 0; cycle < 10; cycle++)
        {
            await repository.LoadAsync("versioned", CancellationToken.None);
            foreach (var version in repository.GetReady("versioned")!)
            {
                Assert.True(version.TryAcquire());
                RunVersioned(version);
                version.Release();
            }

            await repository.UnloadAsync("versioned", CancellationToken.None);
        }

        await repository.UnloadAsync("mlp", CancellationToken.None);
        await repository.UnloadAsync("fixed", CancellationToken.None);

        Assert.Equal(0, repository.Counters.LiveSessions);
        Assert.Equal(0, repository.Counters.LiveValues);
    }

    [Fact]
    public async Task Dispose_RetiresEverything()
    {
        var repository = await LoadedAsync(CreateRepository());
        Assert.True(repository.Counters.LiveSessions > 0);

        repository.Dispose();

        Assert.Equal(0, repository.Counters.LiveSessions);
    }
}
