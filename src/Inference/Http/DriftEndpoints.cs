using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;

namespace ServingGateway.Inference.Http;

/// <summary>
/// Input drift (config.json "drift"): per version, the reference, the live window, each input's and feature's PSI
/// (and KS) and the top drifting features; a model's ready versions, or one version. <c>?reference=true</c> adds each
/// version's reference in the format of drift_reference.json.
/// </summary>
internal sealed class DriftEndpoints(ModelRepository repository)
{
    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v2/models/{model}/drift", DriftAsync);
        endpoints.MapGet("/v2/models/{model}/versions/{version}/drift", DriftAsync);
    }

    private async Task DriftAsync(HttpContext context)
    {
        var (name, versionText) = RouteModel.Read(context);
        var withReference = context.Request.Query.TryGetValue("reference", out var flag) && flag is [var value] && value == "true";
        var versions = new List<ModelHost>();
        try
        {
            if (versionText is null)
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

            await JsonResponses.WriteObjectAsync(context, w =>
            {
                w.WriteString("name", name);
                w.WriteStartArray("versions");
                foreach (var version in versions)
                {
                    w.WriteStartObject();
                    w.WriteString("version", version.VersionText);
                    w.WriteBoolean("enabled", version.Drift is not null);
                    if (version.Drift is { } drift)
                    {
                        drift.Write(w);
                        if (withReference)
                        {
                            w.WritePropertyName("drift_reference");
                            drift.WriteReference(w);
                        }
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
            });
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
