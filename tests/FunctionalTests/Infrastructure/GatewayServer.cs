using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using ServingGateway.Hosting;
using ServingGateway.Inference.Repository;

namespace ServingGateway.FunctionalTests.Infrastructure;

/// <summary>
/// The real server (the same host the executable builds) listening on a free loopback port, in this
/// process; tests talk HTTP to it.
/// </summary>
internal sealed class GatewayServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private string? _stateFile;

    private GatewayServer(WebApplication app, Uri address, string auditPath, Uri? grpcAddress)
    {
        _app = app;
        BaseAddress = address;
        GrpcAddress = grpcAddress;
        AuditPath = auditPath;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The server's address, http://127.0.0.1:PORT/.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The gRPC listener's address (http://127.0.0.1:PORT/) when started with <see cref="StartWithGrpcAsync"/>; else null.</summary>
    public Uri? GrpcAddress { get; }

    /// <summary>The audit log: a temporary file unless the test passed --Audit:Path.</summary>
    public string AuditPath { get; }

    /// <summary>A client for <see cref="BaseAddress"/>.</summary>
    public HttpClient Client { get; }

    /// <summary>A service of the server, for checks on its state.</summary>
    public T Services<T>()
        where T : notnull => _app.Services.GetRequiredService<T>();

    /// <summary>The server's model repository, for checks on what it holds.</summary>
    public ModelRepository Repository => _app.Services.GetRequiredService<ModelRepository>();

    /// <summary>Starts a standalone server on <paramref name="models"/> and waits until it is ready.</summary>
    public static async Task<GatewayServer> StartAsync(string models, params string[] extraArgs)
    {
        // Never beside a shared repository (tests/Assets): each server its own audit file.
        var audit = extraArgs.Contains("--Audit:Path") ? extraArgs[Array.IndexOf(extraArgs, "--Audit:Path") + 1] : TempAuditPath();

        // Nor a shared deployments state file: one a test passes survives the server (a restart reads it back).
        var stateFile = extraArgs.Contains("--Deployments:StateFile") ? null : Path.Combine(Path.GetTempPath(), $"sg-deployments-{Guid.NewGuid():N}.json");
        var app = GatewayApp.Build(CommandLine.Parse(
        [
            "--urls", "http://127.0.0.1:0",
            "--models", models,
            "--Logging:LogLevel:Default", "Warning",
            "--Audit:Path", audit,
            .. stateFile is null ? Array.Empty<string>() : ["--Deployments:StateFile", stateFile],
            .. extraArgs,
        ]));
        await app.StartAsync();
        // Listening on every address (0.0.0.0), it is reached on loopback; the gRPC listener is not the REST one.
        var grpc = extraArgs.Contains("--grpc-urls") ? extraArgs[Array.IndexOf(extraArgs, "--grpc-urls") + 1] : null;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .First(a => a != grpc).Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal);
        var server = new GatewayServer(app, new Uri(address + "/"), audit, grpc is null ? null : new Uri(grpc + "/")) { _stateFile = stateFile };
        await server.WaitReadyAsync();
        return server;
    }

    /// <summary>Starts a standalone server as <see cref="StartAsync"/> does, with its gRPC listener on a free loopback port.</summary>
    public static Task<GatewayServer> StartWithGrpcAsync(string models, params string[] extraArgs) =>
        StartAsync(models, ["--grpc-urls", $"http://127.0.0.1:{NodeProcess.FreePort()}", .. extraArgs]);

    /// <summary>Polls /v2/health/ready until it answers 200 (models load in the background).</summary>
    public async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var response = await Client.GetAsync("v2/health/ready");
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("server not ready after 60 s");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>A fresh path for an audit log in the temporary directory.</summary>
    public static string TempAuditPath() => Path.Combine(Path.GetTempPath(), $"sg-audit-{Guid.NewGuid():N}.log");

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        File.Delete(AuditPath);
        File.Delete(AuditPath + ".1");
        if (_stateFile is not null)
        {
            File.Delete(_stateFile);
        }
    }
}
