using ServingGateway.Routing;

namespace ServingGateway.Auth;

/// <summary>
/// The one table of the inference node's endpoints and the role each needs. A node or standalone server
/// attaches it to its endpoints as <see cref="RequiredRole"/> metadata (matched by method and route pattern);
/// an edge builds its YARP routes from it, one per endpoint, so the edge forwards exactly what a node serves
/// and nothing else (an unknown path is a 404 at the edge). An endpoint the table misses is a start-up error
/// (see <see cref="MissingRoles"/>), never a public endpoint.
/// </summary>
internal static class NodeEndpointRoles
{
    /// <summary>Every node endpoint: route id, HTTP method, route pattern (as mapped), role.</summary>
    public static IReadOnlyList<NodeEndpoint> All { get; } =
    [
        new("health-live", "GET", "/v2/health/live", GatewayRoles.None),
        new("health-ready", "GET", "/v2/health/ready", GatewayRoles.None),
        new("server-metadata", "GET", "/v2", GatewayRoles.Infer),
        new("model-metadata", "GET", "/v2/models/{model}", GatewayRoles.Infer),
        new("version-metadata", "GET", "/v2/models/{model}/versions/{version}", GatewayRoles.Infer),
        new("model-config", "GET", "/v2/models/{model}/config", GatewayRoles.Infer),
        new("version-config", "GET", "/v2/models/{model}/versions/{version}/config", GatewayRoles.Infer),
        new("model-ready", "GET", "/v2/models/{model}/ready", GatewayRoles.Infer),
        new("version-ready", "GET", "/v2/models/{model}/versions/{version}/ready", GatewayRoles.Infer),
        new("model-infer", "POST", "/v2/models/{model}/infer", GatewayRoles.Infer),
        new("version-infer", "POST", "/v2/models/{model}/versions/{version}/infer", GatewayRoles.Infer),
        new("all-stats", "GET", "/v2/models/stats", GatewayRoles.Infer),
        new("model-stats", "GET", "/v2/models/{model}/stats", GatewayRoles.Infer),
        new("version-stats", "GET", "/v2/models/{model}/versions/{version}/stats", GatewayRoles.Infer),
        new("model-drift", "GET", "/v2/models/{model}/drift", GatewayRoles.Infer),
        new("version-drift", "GET", "/v2/models/{model}/versions/{version}/drift", GatewayRoles.Infer),
        new("repository-index", "POST", "/v2/repository/index", GatewayRoles.Deploy),
        new("repository-load", "POST", "/v2/repository/models/{model}/load", GatewayRoles.Deploy),
        new("repository-unload", "POST", "/v2/repository/models/{model}/unload", GatewayRoles.Deploy),

        // The Open Inference Protocol over gRPC (the gRPC port, GrpcUrls): the same roles as the REST endpoints.
        Grpc("ServerLive", GatewayRoles.None),
        Grpc("ServerReady", GatewayRoles.None),
        // ModelField: the request message's field that names the model (GrpcModelNameMiddleware reads it).
        Grpc("ModelReady", GatewayRoles.Infer, modelField: 1),
        Grpc("ServerMetadata", GatewayRoles.Infer),
        Grpc("ModelMetadata", GatewayRoles.Infer, modelField: 1),
        Grpc("ModelInfer", GatewayRoles.Infer, modelField: 1),
        Grpc("ModelConfig", GatewayRoles.Infer, modelField: 1),
        Grpc("ModelStatistics", GatewayRoles.Infer, modelField: 1),
        Grpc("RepositoryIndex", GatewayRoles.Deploy),
        Grpc("RepositoryModelLoad", GatewayRoles.Deploy, modelField: 2),
        Grpc("RepositoryModelUnload", GatewayRoles.Deploy, modelField: 2),

        // Server reflection (Grpc:Reflection).
        new("grpc-reflection", "POST", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", GatewayRoles.Infer, IsGrpc: true),
        new("grpc-reflection-alpha", "POST", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", GatewayRoles.Infer, IsGrpc: true),
    ];

    private static NodeEndpoint Grpc(string method, GatewayRoles role, int? modelField = null) =>
        new("grpc-" + method, "POST", "/inference.GRPCInferenceService/" + method, role, IsGrpc: true, ModelField: modelField);

    /// <summary>A convention for the group the node's endpoints are mapped in: each gets its role from the table.</summary>
    public static void Attach(EndpointBuilder endpoint)
    {
        if (endpoint is not RouteEndpointBuilder route || endpoint.Metadata.OfType<RequiredRole>().Any())
        {
            return;
        }

        var methods = endpoint.Metadata.OfType<HttpMethodMetadata>().SelectMany(m => m.HttpMethods).ToArray();
        var entry = All.FirstOrDefault(e => string.Equals(e.Pattern, route.RoutePattern.RawText, StringComparison.Ordinal) && methods is [var method] && method == e.Method);
        if (entry is not null)
        {
            endpoint.Metadata.Add(entry.Role == GatewayRoles.None ? RequiredRole.Public : new RequiredRole(entry.Role));
            if (entry.ModelField is { } field)
            {
                endpoint.Metadata.Add(new GrpcModelField(field));
            }
        }
    }

    /// <summary>The mapped route endpoints that carry no <see cref="RequiredRole"/> (nor the metrics marker): a start-up error.</summary>
    public static IEnumerable<string> MissingRoles(IEnumerable<EndpointDataSource> sources) =>
        from source in sources
        from endpoint in source.Endpoints.OfType<RouteEndpoint>()
        where endpoint.Metadata.GetMetadata<RequiredRole>() is null && endpoint.Metadata.GetMetadata<MetricsEndpointMetadata>() is null
        select $"endpoint {endpoint.DisplayName ?? endpoint.RoutePattern.RawText} has no role: add it to NodeEndpointRoles or call RequireRole";

    /// <summary>One node endpoint.</summary>
    /// <param name="Id">The route id (the edge's YARP route is "oip-" + Id).</param>
    /// <param name="Method">The HTTP method.</param>
    /// <param name="Pattern">The route pattern, as mapped.</param>
    /// <param name="Role">The role a caller needs (None: public).</param>
    /// <param name="IsGrpc">A gRPC method (HTTP/2, on the gRPC port).</param>
    /// <param name="ModelField">A gRPC method whose request names a model: the number of the field that holds the name.</param>
    internal sealed record NodeEndpoint(string Id, string Method, string Pattern, GatewayRoles Role, bool IsGrpc = false, int? ModelField = null);
}
