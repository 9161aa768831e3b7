using System.Text.Json;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Protocol;

/// <summary>The properties every OIP tensor object starts with, in requests, responses and metadata alike.</summary>
internal static class TensorJson
{
    /// <summary>Writes <c>"name"</c>, <c>"datatype"</c> and <c>"shape"</c> into an open tensor object.</summary>
    public static void WriteHeader(Utf8JsonWriter writer, string name, TensorDataType dataType, long[] shape)
    {
        writer.WriteString("name"u8, name);
        writer.WriteString("datatype"u8, dataType.ToOipName());
        writer.WriteStartArray("shape"u8);
        foreach (var dim in shape)
        {
            writer.WriteNumberValue(dim);
        }

        writer.WriteEndArray();
    }
}
