using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ServingGateway.Inference.Http;

/// <summary>
/// Http: the inference node's endpoints (the Open Inference Protocol / KServe V2 REST API, with Triton's model
/// repository and statistics extensions and the binary tensor data extension) as thin classes that read the
/// route, call the serving pipeline or the repository and write the answer. Errors are thrown as
/// <c>InferenceException</c> and written by the one JSON error middleware (<c>UseJsonErrors</c>).
/// </summary>
public static class InferenceEndpointRouteBuilderExtensions
{
    /// <summary>Maps the inference node's endpoints under <c>/v2</c>.</summary>
    public static IEndpointRouteBuilder MapInferenceEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        ActivatorUtilities.CreateInstance<HealthEndpoints>(services).Map(endpoints);
        ActivatorUtilities.CreateInstance<MetadataEndpoints>(services).Map(endpoints);
        ActivatorUtilities.CreateInstance<ModelConfigEndpoints>(services).Map(endpoints);
        ActivatorUtilities.CreateInstance<InferEndpoints>(services).Map(endpoints);
        ActivatorUtilities.CreateInstance<StatisticsEndpoints>(services).Map(endpoints);
        ActivatorUtilities.CreateInstance<DriftEndpoints>(services).Map(endpoints);
        ActivatorUtilities.CreateInstance<RepositoryEndpoints>(services).Map(endpoints);
        return endpoints;
    }
}
