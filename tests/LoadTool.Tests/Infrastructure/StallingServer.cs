using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ServingGateway.LoadTool.Tests.Infrastructure;

/// <summary>
/// An in-process Kestrel server on 127.0.0.1 (a free port) that speaks just enough OIP for the
/// tool: model metadata for "m" (one FP32 [-1,4] input) and an infer endpoint that answers at
/// once, except that infer request number <c>stallAt</c> freezes the server for
/// <see cref="StallDuration"/>: it and every infer request arriving during the stall wait for it
/// to end, like a stop-the-world pause.
/// </summary>
internal sealed class StallingServer : IAsyncDisposable
{
    public static readonly TimeSpan StallDuration = TimeSpan.FromSeconds(1);

    private readonly WebApplication _app;
    private readonly int _stallAt;
    private int _count;
    private int _held;
    private Task? _stall;

    private StallingServer(WebApplication app, int stallAt)
    {
        _app = app;
        _stallAt = stallAt;
    }

    public Uri Url { get; private set; } = null!;

    /// <summary>Infer requests answered so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Infer requests that waited for the stall (the one that began it included).</summary>
    public int Held => Volatile.Read(ref _held);

    public static async Task<StallingServer> StartAsync(int stallAt)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new StallingServer(app, stallAt);
        app.MapGet("/v2/models/m", () => Microsoft.AspNetCore.Http.Results.Text(
            """{"name":"m","versions":["1"],"platform":"test","inputs":[{"name":"x","datatype":"FP32","shape":[-1,4]}],"outputs":[{"name":"y","datatype":"FP32","shape":[-1,1]}]}""",
            "application/json"));
        app.MapPost("/v2/models/m/infer", server.InferAsync);
        await app.StartAsync();
        server.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    private async Task InferAsync(HttpContext context)
    {
        if (Interlocked.Increment(ref _count) == _stallAt)
        {
            // The one intentional wait of the tests: the stall under measurement.
            Volatile.Write(ref _stall, Task.Delay(StallDuration));
        }

        if (Volatile.Read(ref _stall) is { IsCompleted: false } stall)
        {
            Interlocked.Increment(ref _held);
            await stall;
        }

        context.Response.ContentType = "application/json";
        context.Response.Headers["X-Served-By"] = "stalling-server";
        await context.Response.WriteAsync("""{"model_name":"m","outputs":[{"name":"y","datatype":"FP32","shape":[1,1],"data":[0]}]}""");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
