using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ServingGateway.Inference.Buffers;
using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Repository;

namespace ServingGateway.Inference.Http;

/// <summary>
/// Triton's model configuration endpoint, <c>GET /v2/models/{m}[/versions/{v}]/config</c>: the effective
/// configuration of the highest ready version (or of version v) in Triton's JSON form (<see cref="TritonConfigWriter"/>).
/// An unknown model or version is a 404 (the error middleware writes it).
/// </summary>
internal static class ModelConfigEndpoint
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Maps both routes.</summary>
    public static IEndpointRouteBuilder MapModelConfig(this IEndpointRouteBuilder endpoints)
    {
        var repository = endpoints.ServiceProvider.GetRequiredService<ModelRepository>();
        endpoints.MapGet("/v2/models/{model}/config", context => WriteAsync(context, repository));
        endpoints.MapGet("/v2/models/{model}/versions/{version}/config", context => WriteAsync(context, repository));
        return endpoints;
    }

    private static async Task WriteAsync(HttpContext context, ModelRepository repository)
    {
        var model = repository.Acquire((string)context.Request.RouteValues["model"]!, context.Request.RouteValues["version"] as string);
        using var buffer = new PooledBufferWriter(2048);
        try
        {
            using var writer = new Utf8JsonWriter(buffer, WriterOptions);
            writer.WriteStartObject();
            TritonConfigWriter.Write(writer, model.ModelName, model.Config, model.Signature, model.Batching, model.ExecutionProvider,
                [new("version", model.VersionText), new("digest", model.Digest)]);
            writer.WriteEndObject();
        }
        finally
        {
            model.Release();
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        response.Headers["X-Model-Version"] = model.VersionText;
        response.Headers["X-Model-Digest"] = model.Digest;
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }
}
