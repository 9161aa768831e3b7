using System.Text;
using ServingGateway.Auth;
using ServingGateway.Inference.Common;
using ServingGateway.Routing;
using Yarp.ReverseProxy;

namespace ServingGateway.Edge;

/// <summary>What the edge answers itself: its own health (public). The node endpoints are forwarded (NodeDiscovery.Routes).</summary>
internal static class EdgeEndpoints
{
    public static IEndpointRouteBuilder MapEdgeEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v2/health/live", static context => Json(context, StatusCodes.Status200OK, "{\"live\":true}")).RequireRole(GatewayRoles.None);
        endpoints.MapGet("/v2/health/ready", static context =>
        {
            // Ready while at least one node is: the edge alone serves nothing.
            var proxy = context.RequestServices.GetRequiredService<IProxyStateLookup>();
            var available = proxy.TryGetCluster(NodeDiscovery.ClusterId, out var cluster) ? cluster.DestinationsState.AvailableDestinations.Count : 0;
            if (available == 0)
            {
                context.Response.Headers.RetryAfter = "1";
                return ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "no node is ready");
            }

            return Json(context, StatusCodes.Status200OK, "{\"ready\":true}");
        }).RequireRole(GatewayRoles.None);
        return endpoints;
    }

    private static Task Json(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes(json);
        context.Response.ContentLength = bytes.Length;
        return context.Response.Body.WriteAsync(bytes, context.RequestAborted).AsTask();
    }
}
