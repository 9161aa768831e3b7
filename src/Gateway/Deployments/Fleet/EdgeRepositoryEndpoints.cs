using System.Globalization;
using ServingGateway.Auth;
using ServingGateway.Inference.Common;

namespace ServingGateway.Deployments.Fleet;

/// <summary>
/// On an edge, the repository extension's load and unload reach every node (issue 13 item 1), not the one node the
/// model hashes to: the edge sends the call to each node (<see cref="NodeFanOut"/>) and answers 200 only when every
/// node did; otherwise the nodes' common failure status (502 when they differ or a node could not be reached) with
/// each failing node's answer. The other node endpoints stay forwarded by model (NodeDiscovery.Routes leaves these out).
/// </summary>
internal static class EdgeRepositoryEndpoints
{
    /// <summary>The node endpoints (NodeEndpointRoles ids) the edge fans out instead of forwarding.</summary>
    public static readonly IReadOnlySet<string> FannedOut = new HashSet<string>(StringComparer.Ordinal) { "repository-load", "repository-unload" };

    /// <summary>The largest load/unload body taken (Triton's optional parameters).</summary>
    public const int MaxBodyBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapEdgeRepositoryEndpoints(this IEndpointRouteBuilder endpoints)
    {
        foreach (var endpoint in NodeEndpointRoles.All.Where(e => FannedOut.Contains(e.Id)))
        {
            endpoints.MapMethods(endpoint.Pattern, [endpoint.Method], FanOutAsync).RequireRole(endpoint.Role);
        }

        return endpoints;
    }

    private static async Task FanOutAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"a load or unload body is at most {MaxBodyBytes} bytes");
            return;
        }

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        if (buffer.Length > MaxBodyBytes)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"a load or unload body is at most {MaxBodyBytes} bytes");
            return;
        }

        var fanOut = context.RequestServices.GetRequiredService<NodeFanOut>();
        var calls = await fanOut.SendAsync(
            HttpMethod.Post, context.Request.Path.Value!, buffer.ToArray(), buffer.Length > 0 ? context.Request.ContentType ?? "application/json" : null, context.RequestAborted);
        if (calls.Count == 0)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "no node is configured or discovered");
            return;
        }

        var failed = calls.Where(c => !c.Succeeded).ToList();
        if (failed.Count == 0)
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(calls[0].Body.Length > 0 ? calls[0].Body : "{}", context.RequestAborted);
            return;
        }

        var statuses = failed.Select(c => c.Status).Distinct().ToList();
        var status = statuses is [var one] && one != 0 ? one : StatusCodes.Status502BadGateway;
        await ErrorResponse.WriteAsync(
            context,
            status,
            string.Create(CultureInfo.InvariantCulture, $"failed on {failed.Count} of {calls.Count} nodes: {string.Join("; ", failed.Select(c => c.Describe()))}"));
    }
}
