using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ServingGateway.Inference.Grpc;

/// <summary>Wires the Open Inference Protocol's gRPC service into a node's host.</summary>
public static class GrpcEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Adds the gRPC service (Grpc.AspNetCore) beside the node's REST endpoints: the largest request message is
    /// Inference:MaxRequestBodyBytes (REST's body limit; larger is RESOURCE_EXHAUSTED), responses are unlimited,
    /// failures become statuses (<see cref="GrpcErrorInterceptor"/>); reflection when Grpc:Reflection is true.
    /// </summary>
    public static IServiceCollection AddInferenceGrpc(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GrpcOptions>().Bind(configuration.GetSection(GrpcOptions.SectionName));
        services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<GrpcErrorInterceptor>();
            grpc.MaxSendMessageSize = null;
            grpc.EnableDetailedErrors = false;

            // No catch-all endpoints for unknown services and methods (they would answer any HTTP method on any
            // two-segment path, public): the router finds nothing, and the error middleware answers a gRPC caller
            // UNIMPLEMENTED (ErrorResponse, 501).
            grpc.IgnoreUnknownServices = true;
        });
        services.AddOptions<GrpcServiceOptions>().Configure<IOptions<InferenceOptions>>(
            (grpc, inference) => grpc.MaxReceiveMessageSize = (int)inference.Value.MaxRequestBodyBytes);
        services.AddGrpcReflection();
        return services;
    }

    /// <summary>
    /// Maps <c>inference.GRPCInferenceService</c> (and server reflection when it is on), applying
    /// <paramref name="convention"/> to each of their endpoints once its own metadata (method, pattern) is on it;
    /// a route group's conventions run before that.
    /// </summary>
    public static IEndpointRouteBuilder MapInferenceGrpc(this IEndpointRouteBuilder endpoints, Action<EndpointBuilder> convention)
    {
        var service = endpoints.MapGrpcService<OipGrpcService>();
        service.Add(convention);
        service.Add(NoBodyLimit);
        if (endpoints.ServiceProvider.GetRequiredService<IOptions<GrpcOptions>>().Value.Reflection)
        {
            var reflection = endpoints.MapGrpcReflectionService();
            reflection.Add(convention);
            reflection.Add(NoBodyLimit);
        }

        return endpoints;
    }

    // gRPC bounds each message itself (MaxReceiveMessageSize, RESOURCE_EXHAUSTED); Kestrel's body limit, which counts
    // the framing too and fails the read with an exception gRPC can only call UNKNOWN, is lifted for its endpoints.
    private static void NoBodyLimit(EndpointBuilder endpoint) => endpoint.Metadata.Add(UnlimitedBody.Instance);

    private sealed class UnlimitedBody : IRequestSizeLimitMetadata
    {
        public static UnlimitedBody Instance { get; } = new();

        public long? MaxRequestBodySize => null;
    }
}
