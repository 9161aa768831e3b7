namespace ServingGateway.Auth;

/// <summary>
/// Endpoint metadata: the role a caller needs for the endpoint the router selected (<see cref="GatewayRoles.None"/>:
/// public). Authorization, rate limits and the audit log read it from <c>HttpContext.GetEndpoint()</c>, never
/// from the path text, so every spelling the router accepts gets the same decision.
/// </summary>
internal sealed record RequiredRole(GatewayRoles Role)
{
    /// <summary>The public endpoints: health.</summary>
    public static RequiredRole Public { get; } = new(GatewayRoles.None);

    /// <summary>The role named <paramref name="name"/> in configuration (infer, deploy, admin), case-insensitive; null if unknown.</summary>
    public static GatewayRoles? Parse(string name) => name.ToLowerInvariant() switch
    {
        "infer" => GatewayRoles.Infer,
        "deploy" => GatewayRoles.Deploy,
        "admin" => GatewayRoles.Admin,
        _ => null,
    };

    /// <summary>The role's name as configured and logged: none, infer, deploy or admin.</summary>
    public static string Name(GatewayRoles role) => role switch
    {
        GatewayRoles.None => "none",
        GatewayRoles.Infer => "infer",
        GatewayRoles.Deploy => "deploy",
        GatewayRoles.Admin => "admin",
        _ => role.ToString().ToLowerInvariant(),
    };
}

/// <summary>Endpoint metadata of <c>/metrics</c> and the status page (<c>/status</c>, <c>/status/...</c>): their role is <c>Auth:MetricsRole</c>, decided per request (it reloads).</summary>
internal sealed class MetricsEndpointMetadata
{
    public static MetricsEndpointMetadata Instance { get; } = new();
}

/// <summary>Attaches <see cref="RequiredRole"/> to endpoints.</summary>
internal static class RequiredRoleExtensions
{
    /// <summary>Callers of these endpoints need <paramref name="role"/> (None: public).</summary>
    public static TBuilder RequireRole<TBuilder>(this TBuilder builder, GatewayRoles role)
        where TBuilder : IEndpointConventionBuilder
    {
        var metadata = role == GatewayRoles.None ? RequiredRole.Public : new RequiredRole(role);
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }
}
