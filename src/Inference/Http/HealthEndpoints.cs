using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ServingGateway.Inference.Serving;

namespace ServingGateway.Inference.Http;

/// <summary>OIP health: server liveness and readiness, and the readiness of a model or version (<see cref="Readiness"/>).</summary>
internal sealed class HealthEndpoints(Readiness readiness)
{
    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v2/health/live", LiveAsync);
        endpoints.MapGet("/v2/health/ready", ReadyAsync);
        endpoints.MapGet("/v2/models/{model}/ready", ModelReadyAsync);
        endpoints.MapGet("/v2/models/{model}/versions/{version}/ready", ModelReadyAsync);
    }

    private static Task LiveAsync(HttpContext context) =>
        JsonResponses.WriteObjectAsync(context, w => w.WriteBoolean("live"u8, true));

    private Task ReadyAsync(HttpContext context)
    {
        if (readiness.ServerNotReady() is { } notReady)
        {
            throw notReady;
        }

        return JsonResponses.WriteObjectAsync(context, w => w.WriteBoolean("ready"u8, true));
    }

    private Task ModelReadyAsync(HttpContext context)
    {
        var (name, versionText) = RouteModel.Read(context);
        var model = readiness.Model(name, versionText);
        return JsonResponses.WriteObjectAsync(context, w =>
        {
            w.WriteString("name"u8, name);
            w.WriteString("version"u8, model.VersionText);
            w.WriteBoolean("ready"u8, true);
        });
    }
}
