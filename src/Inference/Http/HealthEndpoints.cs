using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;
using ServingGateway.Inference.Serving;

namespace ServingGateway.Inference.Http;

/// <summary>OIP health: server liveness and readiness, and the readiness of a model or version.</summary>
internal sealed class HealthEndpoints(ModelRepository repository, RequestPathWarmUp warmUp, IHostApplicationLifetime lifetime)
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
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Before anything else stops, so the edges take the node out while it still serves (ShutdownDrain).
            throw new InferenceException(StatusCodes.Status503ServiceUnavailable, "the server is shutting down");
        }

        if (!repository.IsReady || !warmUp.IsComplete)
        {
            throw new InferenceException(StatusCodes.Status503ServiceUnavailable,
                repository.IsReady ? "the server is warming up" : "the server is still loading its models")
            {
                RetryAfter = TimeSpan.FromSeconds(1),
            };
        }

        return JsonResponses.WriteObjectAsync(context, w => w.WriteBoolean("ready"u8, true));
    }

    private Task ModelReadyAsync(HttpContext context)
    {
        var (name, versionText) = RouteModel.Read(context);
        if (repository.GetReady(name) is null)
        {
            throw InferenceException.NotFound($"unknown model '{name}'");
        }

        // Ready: the version serves, resident or loaded by its next request (multiplexing); never loads it.
        ResidentSlot model;
        try
        {
            model = repository.FindReady(name, versionText);
        }
        catch (InferenceException ex) when (ex.StatusCode == StatusCodes.Status404NotFound)
        {
            throw new InferenceException(StatusCodes.Status503ServiceUnavailable, ex.Message);
        }

        return JsonResponses.WriteObjectAsync(context, w =>
        {
            w.WriteString("name"u8, name);
            w.WriteString("version"u8, model.VersionText);
            w.WriteBoolean("ready"u8, true);
        });
    }
}
