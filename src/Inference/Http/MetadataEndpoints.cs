using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Http;

/// <summary>OIP metadata: the server's name, version and extensions, and a model's (or version's) signature.</summary>
internal sealed class MetadataEndpoints(ModelRepository repository)
{
    private static readonly string ServerVersion =
        typeof(MetadataEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v2", ServerMetadataAsync);
        endpoints.MapGet("/v2/models/{model}", ModelMetadataAsync);
        endpoints.MapGet("/v2/models/{model}/versions/{version}", ModelMetadataAsync);
    }

    private static Task ServerMetadataAsync(HttpContext context) => JsonResponses.WriteObjectAsync(context, WriteServerMetadata);

    /// <summary>Writes the server metadata's properties: name, version, extensions.</summary>
    internal static void WriteServerMetadata(Utf8JsonWriter w)
    {
        w.WriteString("name"u8, "servinggateway");
        w.WriteString("version"u8, ServerVersion);
        w.WriteStartArray("extensions"u8);
        w.WriteStringValue("binary_tensor_data"u8);
        w.WriteStringValue("model_repository"u8);
        w.WriteStringValue("statistics"u8);
        w.WriteStringValue("schedule_policy"u8);
        w.WriteEndArray();
    }

    private async Task ModelMetadataAsync(HttpContext context)
    {
        var (name, versionText) = RouteModel.Read(context);
        var model = await repository.AcquireAsync(name, versionText, context.RequestAborted);
        try
        {
            RouteModel.SetModelHeaders(context.Response, model.VersionText, model.Digest);
            await JsonResponses.WriteObjectAsync(context, w => WriteModelMetadata(w, model, Versions(repository, model, versionText)));
        }
        finally
        {
            model.Release();
        }
    }

    /// <summary>The versions a model's metadata lists: every cataloged one when none was named, else the one named.</summary>
    internal static string[] Versions(ModelRepository repository, ModelHost model, string? versionText) =>
        versionText is null ? [.. (repository.GetCataloged(model.ModelName) ?? []).Select(v => v.VersionText)] : [model.VersionText];

    /// <summary>Writes a model version's metadata properties: name, versions, platform, inputs, outputs, parameters.</summary>
    internal static void WriteModelMetadata(Utf8JsonWriter w, ModelHost model, string[] versions)
    {
        w.WriteString("name"u8, model.ModelName);
        w.WriteStartArray("versions"u8);
        foreach (var version in versions)
        {
            w.WriteStringValue(version);
        }

        w.WriteEndArray();
        w.WriteString("platform"u8, "onnxruntime_onnx"u8);
        WriteTensors(w, "inputs"u8, model.Signature.Inputs);
        WriteTensors(w, "outputs"u8, model.Signature.Outputs);
        w.WriteStartObject("parameters"u8);
        w.WriteString("version"u8, model.VersionText);
        w.WriteString("digest"u8, model.Digest);
        w.WriteNumber("max_batch_size"u8, model.Signature.MaxBatchSize);
        w.WriteNumber("instances"u8, model.InstanceCount);
        w.WriteString("batching"u8, model.Batching.Mode.ToString().ToLowerInvariant());
        w.WriteString("execution_provider"u8, model.ExecutionProvider);
        w.WriteEndObject();
    }

    private static void WriteTensors(Utf8JsonWriter w, ReadOnlySpan<byte> property, TensorSpec[] tensors)
    {
        w.WriteStartArray(property);
        foreach (var tensor in tensors)
        {
            w.WriteStartObject();
            TensorJson.WriteHeader(w, tensor.Name, tensor.DataType, tensor.Shape);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
