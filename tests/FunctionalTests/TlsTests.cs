using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.Hosting;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// TLS in every role: a node on https with a PEM certificate, a standalone server with a .pfx, and edges
/// that reach the node over https trusting only Edge:NodeCaFile (the right CA works, another fails closed).
/// </summary>
public sealed class TlsTests : IAsyncLifetime
{
    private static readonly string MlpRequest = Oip.JsonRequest("input", [1, 64], new float[64]);
    private readonly TestCertificates _certificates = new();
    private readonly TestCertificates _otherCa = new("Another CA");
    private WebApplication _node = null!;
    private Uri _nodeAddress = null!;

    public async Task InitializeAsync()
    {
        (_node, _nodeAddress) = await StartAsync(
            "--role", "node", "--models", RepoPaths.TestModels, "--urls", "https://127.0.0.1:0",
            "--Kestrel:Certificates:Default:Path", _certificates.ServerPem, "--Kestrel:Certificates:Default:KeyPath", _certificates.ServerKeyPem);
        using var client = _certificates.Client(_nodeAddress);
        await WaitReadyAsync(client);
    }

    public async Task DisposeAsync()
    {
        await _node.StopAsync();
        await _node.DisposeAsync();
        _certificates.Dispose();
        _otherCa.Dispose();
    }

    private static async Task<(WebApplication App, Uri Address)> StartAsync(params string[] args)
    {
        var app = GatewayApp.Build(CommandLine.Parse([.. args, "--Logging:LogLevel:Default", "Warning"]));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address + "/"));
    }

    private static async Task WaitReadyAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var ready = await client.GetAsync("v2/health/ready");
            if (ready.IsSuccessStatusCode)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "not ready within 60 s");
            await Task.Delay(50);
        }
    }

    private async Task<HttpResponseMessage> InferThroughEdgeAsync(string caFile)
    {
        var (edge, address) = await StartAsync(
            "--role", "edge", "--urls", "http://127.0.0.1:0", "--Auth:AllowAnonymous", "true",
            "--node", _nodeAddress.ToString().TrimEnd('/'), "--Edge:NodeCaFile", caFile);
        try
        {
            using var client = new HttpClient { BaseAddress = address };
            var response = await client.PostAsync("v2/models/mlp/infer", Oip.Json(MlpRequest));
            await response.Content.LoadIntoBufferAsync();
            return response;
        }
        finally
        {
            await edge.StopAsync();
            await edge.DisposeAsync();
        }
    }

    [Fact]
    public async Task Edge_NodeOverHttpsWithItsCa_Serves()
    {
        using var response = await InferThroughEdgeAsync(_certificates.CaPem);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(10, (await Oip.ReadAsync(response)).Floats("output").Length);
    }

    [Fact]
    public async Task Edge_NodeCertificateFromAnotherCa_FailsClosed()
    {
        using var response = await InferThroughEdgeAsync(_otherCa.CaPem);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Served-By"), "nothing the node answered may pass");
    }

    [Fact]
    public async Task Node_PlainHttpClient_CannotTalkHttpToTheHttpsPort()
    {
        using var client = new HttpClient { BaseAddress = new UriBuilder(_nodeAddress) { Scheme = "http" }.Uri };

        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("v2/health/ready"));
    }

    [Fact]
    public async Task Standalone_HttpsWithPfxAndPassword_Serves()
    {
        var (app, address) = await StartAsync(
            "--models", RepoPaths.TestModels, "--urls", "https://127.0.0.1:0",
            "--Kestrel:Certificates:Default:Path", _certificates.ServerPfx, "--Kestrel:Certificates:Default:Password", TestCertificates.PfxPassword);
        try
        {
            Assert.Equal("https", address.Scheme);
            using var client = _certificates.Client(address);
            await WaitReadyAsync(client);
            using var response = await client.PostAsync("v2/models/mlp/infer", Oip.Json(MlpRequest));

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Standalone_GrpcOverTls_ServesWithTheSameCertificate()
    {
        var grpcPort = NodeProcess.FreePort();
        var (app, _) = await StartAsync(
            "--models", RepoPaths.TestModels, "--urls", "https://127.0.0.1:0", "--grpc-urls", $"https://127.0.0.1:{grpcPort}",
            "--Kestrel:Certificates:Default:Path", _certificates.ServerPem, "--Kestrel:Certificates:Default:KeyPath", _certificates.ServerKeyPem);
        try
        {
            var grpc = new Uri($"https://127.0.0.1:{grpcPort}");
            using var trusted = Grpc.Net.Client.GrpcChannel.ForAddress(grpc, new() { HttpHandler = _certificates.Handler() });
            using var untrusted = Grpc.Net.Client.GrpcChannel.ForAddress(grpc, new() { HttpHandler = _otherCa.Handler() });

            var live = await new OpenInferenceProtocol.GRPCInferenceService.GRPCInferenceServiceClient(trusted).ServerLiveAsync(new OpenInferenceProtocol.ServerLiveRequest());
            var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
                await new OpenInferenceProtocol.GRPCInferenceService.GRPCInferenceServiceClient(untrusted).ServerLiveAsync(new OpenInferenceProtocol.ServerLiveRequest()));

            Assert.True(live.Live);
            // The channel fails closed on a certificate its CA did not sign (the TLS handshake's error inside).
            Assert.IsType<System.Security.Authentication.AuthenticationException>(refused.Status.DebugException?.InnerException);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public void Build_HttpsWithoutCertificate_IsAStartupError()
    {
        var ex = Assert.Throws<StartupException>(() => GatewayApp.Build(CommandLine.Parse(["--urls", "https://127.0.0.1:0"])));

        Assert.Contains("Kestrel:Certificates:Default:Path", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_EdgeCaFileMissingOrNotPem_IsAStartupError()
    {
        var missing = Assert.Throws<StartupException>(() => GatewayApp.Build(CommandLine.Parse(["--role", "edge", "--node", "https://127.0.0.1:1", "--Edge:NodeCaFile", "/nonexistent/ca.pem"])));
        var notPem = Assert.Throws<StartupException>(() => GatewayApp.Build(CommandLine.Parse(["--role", "edge", "--node", "https://127.0.0.1:1", "--Edge:NodeCaFile", _certificates.ServerKeyPem])));

        Assert.Contains("Edge:NodeCaFile: /nonexistent/ca.pem does not exist", missing.Message, StringComparison.Ordinal);
        Assert.Contains("Edge:NodeCaFile", notPem.Message, StringComparison.Ordinal);
    }
}
