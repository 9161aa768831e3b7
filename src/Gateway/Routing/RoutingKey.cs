namespace ServingGateway.Routing;

/// <summary>
/// What a request is routed by: the model the router bound (the <c>{model}</c> route value, never a second
/// parse of the path), plus the optional X-Routing-Key header (a client can spread one model's traffic over
/// several keys, or keep a session together).
/// </summary>
internal static class RoutingKey
{
    /// <summary>The request header that refines the key.</summary>
    public const string Header = "X-Routing-Key";

    /// <summary>
    /// The key of <paramref name="request"/>: "model" or "model\nkey"; for an endpoint that names no model, its
    /// route pattern (so every spelling of one endpoint goes to one node).
    /// </summary>
    public static string Of(HttpRequest request)
    {
        var model = ModelName(request) ?? (request.HttpContext.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? request.Path.Value ?? "";
        return request.Headers.TryGetValue(Header, out var extra) && !string.IsNullOrEmpty(extra)
            ? model + "\n" + extra
            : model;
    }

    /// <summary>The model the router bound for <paramref name="request"/> (route value <c>model</c>), or null.</summary>
    public static string? ModelName(HttpRequest request) => request.RouteValues.TryGetValue("model", out var value) ? value as string : null;
}
