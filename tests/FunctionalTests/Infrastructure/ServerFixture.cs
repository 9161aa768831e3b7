using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests.Infrastructure;

/// <summary>A server shared by the read-only tests of a class, started once on one model repository.</summary>
public abstract class ServerFixture(string models) : IAsyncLifetime
{
    private GatewayServer? _server;

    internal GatewayServer Server => _server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _server = await GatewayServer.StartAsync(models);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>A server on the committed test models (tests/Assets/models).</summary>
public sealed class TestAssetsServer() : ServerFixture(RepoPaths.TestModels);

/// <summary>A server on the example repository (models/), for the real models ./models/fetch.sh brings.</summary>
public sealed class ExampleModelsServer() : ServerFixture(RepoPaths.ExampleModels);
