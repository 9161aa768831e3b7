using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Http;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Repository;

/// <summary>Serving exactly a given set of versions in place of a model's version_policy (issue 13's rollouts).</summary>
public sealed class ModelRepositoryOverrideTests : IDisposable
{
    private readonly TempModelRepository _models = new("mlp", "versioned");

    public void Dispose() => _models.Dispose();

    private async Task<ModelRepository> LoadedAsync()
    {
        var repository = Repositories.Create(_models.Path, new NodeMetrics(), TimeProvider.System);
        await repository.LoadAllAsync(CancellationToken.None);
        return repository;
    }

    private static long[] Ready(ModelRepository repository, string model) =>
        [.. repository.GetCataloged(model)!.Select(v => v.Version)];

    [Fact]
    public async Task LoadAsync_SpecificOverride_ServesExactlyThoseVersions()
    {
        using var repository = await LoadedAsync();
        Assert.Equal([3L, 2L, 1L], Ready(repository, "versioned"));

        await repository.LoadAsync("versioned", VersionPolicy.Of([1, 2]), CancellationToken.None);

        Assert.Equal([2L, 1L], Ready(repository, "versioned"));
        var host = repository.Acquire("versioned", null);
        Assert.Equal(2, host.Version);
        host.Release();
    }

    [Fact]
    public async Task LoadAsync_PlainReloadAfterOverride_KeepsTheOverride()
    {
        using var repository = await LoadedAsync();
        await repository.LoadAsync("versioned", VersionPolicy.Of([1]), CancellationToken.None);

        await repository.LoadAsync("versioned", CancellationToken.None);

        Assert.Equal([1L], Ready(repository, "versioned"));
    }

    [Fact]
    public async Task LoadAsync_NullOverride_BackToTheVersionPolicy()
    {
        using var repository = await LoadedAsync();
        await repository.LoadAsync("versioned", VersionPolicy.Of([1]), CancellationToken.None);

        await repository.LoadAsync("versioned", (VersionPolicy?)null, CancellationToken.None);

        Assert.Equal([3L, 2L, 1L], Ready(repository, "versioned"));
    }

    [Fact]
    public async Task UnloadAsync_AfterOverride_ClearsIt()
    {
        using var repository = await LoadedAsync();
        await repository.LoadAsync("versioned", VersionPolicy.Of([2]), CancellationToken.None);

        await repository.UnloadAsync("versioned", CancellationToken.None);
        await repository.LoadAsync("versioned", CancellationToken.None);

        Assert.Null(repository.GetOverride("versioned"));
        Assert.Equal([3L, 2L, 1L], Ready(repository, "versioned"));
    }

    [Fact]
    public async Task SetOverride_BeforeTheFirstLoad_FirstLoadFollowsIt()
    {
        using var repository = Repositories.Create(_models.Path, new NodeMetrics(), TimeProvider.System);

        repository.SetOverride("versioned", VersionPolicy.Of([1, 3]));
        await repository.LoadAllAsync(CancellationToken.None);

        Assert.Equal([3L, 1L], Ready(repository, "versioned"));
    }

    [Fact]
    public async Task ServeAsync_NewVersionBesideLatestPolicy_ServesBothWarmed()
    {
        _models.AddVersion("mlp", 2, "mlp", 1);
        using var repository = await LoadedAsync();
        Assert.Equal([2L], Ready(repository, "mlp"));
        var versions = new ModelVersions(repository);

        await versions.ServeAsync("mlp", [1, 2], CancellationToken.None);

        Assert.Equal([2L, 1L], Ready(repository, "mlp"));
        Assert.Equal([2L, 1L], versions.Ready("mlp"));
        Assert.All(repository.GetIndex().Where(r => r.Name == "mlp"), r => Assert.True(r.Resident));
        Assert.Equal([2L, 1L], versions.OnDisk("mlp"));
    }

    [Fact]
    public async Task ServeAsync_VersionNotOnDisk_Is400WithTheReasonAndKeepsTheOthers()
    {
        using var repository = await LoadedAsync();
        var versions = new ModelVersions(repository);

        var ex = await Assert.ThrowsAsync<InferenceException>(() => versions.ServeAsync("versioned", [3, 7], CancellationToken.None));

        Assert.Equal(400, ex.StatusCode);
        Assert.Contains("version 7: version folder 7 not found", ex.Message, StringComparison.Ordinal);
        Assert.Equal([3L], Ready(repository, "versioned"));
    }

    [Fact]
    public async Task OnDisk_UnknownModel_Empty()
    {
        using var repository = await LoadedAsync();

        Assert.Empty(new ModelVersions(repository).OnDisk("nope"));
        Assert.Empty(new ModelVersions(repository).OnDisk("../mlp"));
    }

    [Fact]
    public void ReadVersionPolicyOverride_OnlyVersionPolicy_Parsed()
    {
        var policy = RepositoryEndpoints.ReadVersionPolicyOverride("""{"version_policy": {"specific": {"versions": [1, 2]}}}""");

        Assert.Equal([2L, 1L], policy.Select([1, 2, 3]));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("{}")]
    [InlineData("""{"max_batch_size": 4}""")]
    [InlineData("""{"version_policy": {"all": {}}, "max_batch_size": 4}""")]
    [InlineData("""{"version_policy": {"specific": {"versions": []}}}""")]
    [InlineData("""[1]""")]
    [InlineData("""{"version_policy": """)]
    public void ReadVersionPolicyOverride_AnythingElse_Is400(string? json)
    {
        var ex = Assert.Throws<InferenceException>(() => RepositoryEndpoints.ReadVersionPolicyOverride(json));

        Assert.Equal(400, ex.StatusCode);
    }
}
