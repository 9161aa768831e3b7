using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ServingGateway.FunctionalTests.Infrastructure;

/// <summary>
/// A stand-in node on a loopback port that is healthy (the health endpoints answer 200) but refuses every other
/// request the way an overloaded node does: 503, Retry-After, a JSON error. It counts what it refused.
/// </summary>
internal sealed class OverloadedNode : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _refused;

    private OverloadedNode(WebApplication app, int port)
    {
        _app = app;
        Url = $"http://127.0.0.1:{port}";
    }

    /// <summary>The URL an edge is given: no trailing slash.</summary>
    public string Url { get; }

    /// <summary>Requests refused with 503 so far.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public static async Task<OverloadedNode> StartAsync(int retryAfterSeconds)
    {
        var port = NodeProcess.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var node = new OverloadedNode(app, port);
        app.MapGet("/v2/health/{state}", () => Results.Ok());
        app.MapFallback(async context =>
        {
            Interlocked.Increment(ref node._refused);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.Headers["X-Served-By"] = "overloaded";
            await context.Response.WriteAsJsonAsync(new { error = "overloaded: the queue would not drain before the deadline" });
        });
        await app.StartAsync();
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
