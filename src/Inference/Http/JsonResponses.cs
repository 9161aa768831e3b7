using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using ServingGateway.Inference.Buffers;

namespace ServingGateway.Inference.Http;

/// <summary>Writes a successful JSON answer of the server's endpoints (the node's, and the gateway's trace and log settings), built with a pooled <see cref="Utf8JsonWriter"/>.</summary>
public static class JsonResponses
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes the object whose properties <paramref name="body"/> writes.</summary>
    public static Task WriteObjectAsync(HttpContext context, Action<Utf8JsonWriter> body) => WriteAsync(context, array: false, body);

    /// <summary>Writes the array whose items <paramref name="body"/> writes.</summary>
    public static Task WriteArrayAsync(HttpContext context, Action<Utf8JsonWriter> body) => WriteAsync(context, array: true, body);

    private static async Task WriteAsync(HttpContext context, bool array, Action<Utf8JsonWriter> body)
    {
        using var buffer = new PooledBufferWriter(1024);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            if (array)
            {
                writer.WriteStartArray();
                body(writer);
                writer.WriteEndArray();
            }
            else
            {
                writer.WriteStartObject();
                body(writer);
                writer.WriteEndObject();
            }
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }
}
