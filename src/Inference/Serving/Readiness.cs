using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;

namespace ServingGateway.Inference.Serving;

/// <summary>
/// Whether the server and a model are ready, decided once for REST (<c>/v2/health/ready</c>, <c>.../ready</c>)
/// and gRPC (ServerReady, ModelReady).
/// </summary>
internal sealed class Readiness(ModelRepository repository, RequestPathWarmUp warmUp, IHostApplicationLifetime lifetime)
{
    /// <summary>Null when the server is ready; otherwise the 503 that says why.</summary>
    public InferenceException? ServerNotReady()
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Before anything else stops, so the edges take the node out while it still serves (ShutdownDrain).
            return new InferenceException(StatusCodes.Status503ServiceUnavailable, "the server is shutting down");
        }

        if (!repository.IsReady || !warmUp.IsComplete)
        {
            return new InferenceException(StatusCodes.Status503ServiceUnavailable,
                repository.IsReady ? "the server is warming up" : "the server is still loading its models")
            {
                RetryAfter = TimeSpan.FromSeconds(1),
            };
        }

        return null;
    }

    /// <summary>
    /// The version of <paramref name="name"/> that serves (<paramref name="versionText"/>, or the highest ready):
    /// resident or loaded by its next request (multiplexing); never loads it.
    /// </summary>
    /// <exception cref="InferenceException">404 for an unknown model; 503 when the version does not serve.</exception>
    public ResidentSlot Model(string name, string? versionText)
    {
        if (repository.GetReady(name) is null)
        {
            throw InferenceException.NotFound($"unknown model '{name}'");
        }

        try
        {
            return repository.FindReady(name, versionText);
        }
        catch (InferenceException ex) when (ex.StatusCode == StatusCodes.Status404NotFound)
        {
            throw new InferenceException(StatusCodes.Status503ServiceUnavailable, ex.Message);
        }
    }
}
