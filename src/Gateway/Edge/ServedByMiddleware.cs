using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace ServingGateway.Edge;

/// <summary>
/// Stamps every response of a node (or standalone) with X-Served-By: Node:Id, or by default the machine's
/// name and the port it listens on; an edge passes it through, so clients see which node answered.
/// </summary>
internal sealed class ServedByMiddleware
{
    /// <summary>The response header.</summary>
    public const string Header = "X-Served-By";

    private readonly RequestDelegate _next;
    private readonly IConfiguration _configuration;
    private readonly IServer _server;
    private string? _id;

    public ServedByMiddleware(RequestDelegate next, IConfiguration configuration, IServer server)
    {
        _next = next;
        _configuration = configuration;
        _server = server;
    }

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.Headers[Header] = _id ??= Id();
        return _next(context);
    }

    private string Id()
    {
        if (_configuration["Node:Id"] is { Length: > 0 } configured)
        {
            return configured;
        }

        var address = _server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        var port = address is not null && Uri.TryCreate(address, UriKind.Absolute, out var uri) ? uri.Port : 0;
        return $"{Environment.MachineName}:{port}";
    }
}
