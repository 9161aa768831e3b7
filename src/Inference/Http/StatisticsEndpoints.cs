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
        var name = context.Request.RouteValues["model"] as string;
        var versionText = context.Request.RouteValues["version"] as string;
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
                versions.Add(await repository.AcquireAsync(name, versionText, context.RequestAborted));
            }

            await JsonResponses.WriteObjectAsync(context, w => StatisticsWriter.Write(w, versions));
        }
        finally
        {
            foreach (var version in versions)
            {
                version.Release();
            }
        }
    }
}
