using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;

namespace ServingGateway.Inference.Http;

/// <summary>Triton's statistics extension: every ready version's figures, or one model's, or one version's.</summary>
internal sealed class StatisticsEndpoints(ModelRepository repository)
{
    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v2/models/stats", StatisticsAsync);
        endpoints.MapGet("/v2/models/{model}/stats", StatisticsAsync);
        endpoints.MapGet("/v2/models/{model}/versions/{version}/stats", StatisticsAsync);
    }

    private async Task StatisticsAsync(HttpContext context)
    {
        var versions = await AcquireAsync(repository, context.Request.RouteValues["model"] as string, context.Request.RouteValues["version"] as string, context.RequestAborted);
        try
        {
            await JsonResponses.WriteObjectAsync(context, w => StatisticsWriter.Write(w, versions));
        }
        finally
        {
            Release(versions);
        }
    }

    /// <summary>The versions whose statistics are asked for: every ready one (no name), a model's ready ones, or one version; the caller releases them (<see cref="Release"/>).</summary>
    /// <exception cref="InferenceException">404 for an unknown model or version.</exception>
    internal static async Task<List<ModelHost>> AcquireAsync(ModelRepository repository, string? name, string? versionText, CancellationToken cancellationToken)
    {
        var versions = new List<ModelHost>();
        try
        {
            if (name is null)
            {
                foreach (var row in repository.GetIndex().Where(r => r.State == "READY").DistinctBy(r => r.Name))
                {
                    repository.AcquireReady(row.Name, versions);
                }
            }
            else if (versionText is null)
            {
                if (!repository.AcquireReady(name, versions))
                {
                    throw InferenceException.NotFound($"unknown model '{name}'");
                }
            }
            else
            {
                versions.Add(await repository.AcquireAsync(name, versionText, cancellationToken));
            }

            return versions;
        }
        catch
        {
            Release(versions);
            throw;
        }
    }

    /// <summary>Gives back the versions <see cref="AcquireAsync"/> acquired.</summary>
    internal static void Release(List<ModelHost> versions)
    {
        foreach (var version in versions)
        {
            version.Release();
        }
    }
}
