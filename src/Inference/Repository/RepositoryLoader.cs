using Microsoft.Extensions.Hosting;

namespace ServingGateway.Inference.Repository;

/// <summary>Loads the model repository in the background after start-up; /v2/health/ready says when it is done.</summary>
internal sealed class RepositoryLoader : BackgroundService
{
    private readonly ModelRepository _repository;

    public RepositoryLoader(ModelRepository repository)
    {
        _repository = repository;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => _repository.LoadAllAsync(stoppingToken);
}
