using System.Text.Json;

namespace ServingGateway.LoadTool.Payloads;

/// <summary>The part of <c>GET /v2/models/{model}</c> that payload generation reads.</summary>
internal sealed record ModelMetadata(string Name, IReadOnlyList<TensorMetadata> Inputs)
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>Reads the metadata JSON; throws <see cref="LoadToolException"/> when it has no inputs.</summary>
    public static ModelMetadata Parse(string json)
    {
        ModelMetadata? metadata;
        try
        {
            metadata = JsonSerializer.Deserialize<ModelMetadata>(json, Options);
        }
        catch (JsonException ex)
        {
            throw new LoadToolException($"the model metadata is not valid JSON: {ex.Message}");
        }

        if (metadata?.Inputs is not { Count: > 0 } || metadata.Inputs.Any(i => i?.Name is null || i.Datatype is null || i.Shape is null))
        {
            throw new LoadToolException("the model metadata lists no inputs with name, datatype and shape");
        }

        return metadata;
    }
}
