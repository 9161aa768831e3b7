using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Repository;

namespace ServingGateway.Inference.Http;

/// <summary>
/// Triton's model configuration endpoint, <c>GET /v2/models/{m}[/versions/{v}]/config</c>: the effective
/// configuration of the highest ready version (or of version v) in Triton's JSON form (<see cref="TritonConfigWriter"/>).
/// </summary>
internal sealed class ModelConfigEndpoints(ModelRepository repository)
{
    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v2/models/{model}/config", ConfigAsync);
        endpoints.MapGet("/v2/models/{model}/versions/{version}/config", ConfigAsync);
    }

    private async Task ConfigAsync(HttpContext context)
    {
        var (name, versionText) = RouteModel.Read(context);
        var model = await repository.AcquireAsync(name, versionText, context.RequestAborted);
        try
        {
            RouteModel.SetModelHeaders(context.Response, model.VersionText, model.Digest);
            await JsonResponses.WriteObjectAsync(context, w => Write(w, model));
        }
        finally
        {
            model.Release();
        }
    }

    /// <summary>Writes the configuration's properties of a resolved version.</summary>
    internal static void Write(System.Text.Json.Utf8JsonWriter w, Residency.ModelHost model) => TritonConfigWriter.Write(
        w, model.ModelName, model.Config, model.Signature, model.Batching, model.ExecutionProvider,
        [new("version", model.VersionText), new("digest", model.Digest)]);
}
