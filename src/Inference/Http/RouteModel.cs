using Microsoft.AspNetCore.Http;

namespace ServingGateway.Inference.Http;

/// <summary>The model and version the router resolved from a <c>/v2/models/{model}[/versions/{version}]</c> path.</summary>
internal static class RouteModel
{
    /// <summary>The route's model name and version text (null when the route has none).</summary>
    public static (string Name, string? Version) Read(HttpContext context) =>
        ((string)context.Request.RouteValues["model"]!, context.Request.RouteValues["version"] as string);

    /// <summary>Sets the headers that name the version which answered.</summary>
    public static void SetModelHeaders(HttpResponse response, string versionText, string digest)
    {
        response.Headers["X-Model-Version"] = versionText;
        response.Headers["X-Model-Digest"] = digest;
    }
}
