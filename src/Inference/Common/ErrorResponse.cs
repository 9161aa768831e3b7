using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ServingGateway.Inference.Common;

/// <summary>
/// Common: what Inference and Gateway both use (JSON error bodies, <see cref="RedisConnections"/>,
/// <see cref="CircuitBreaker"/>). Writes every error the same way: <c>{"error": "..."}</c> with the status code;
/// to a gRPC caller, the same message as the status that code maps to (<see cref="GrpcStatus"/>).
/// </summary>
public static class ErrorResponse
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes the error unless the response has already started (then the connection is all that can fail).</summary>
    public static Task WriteAsync(HttpContext context, int statusCode, string message, TimeSpan? retryAfter = null)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            return Task.CompletedTask;
        }

        if (GrpcStatus.IsGrpc(context.Request))
        {
            GrpcStatus.WriteTrailersOnly(response, statusCode, Clip(message), retryAfter);
            return Task.CompletedTask;
        }

        response.StatusCode = statusCode;
        if (retryAfter is { } wait)
        {
            // Whole seconds, rounded up: never 0, never shorter than the real wait.
            response.Headers.RetryAfter = GrpcStatus.RetryAfterSeconds(wait);
        }

        response.ContentType = "application/json";
        var body = Format(message);
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    /// <summary>The longest message an error body carries; longer ones are cut (the causes already clip what they echo).</summary>
    public const int MaxMessageLength = 1024;

    /// <summary><paramref name="message"/> as an error carries it: cut at <see cref="MaxMessageLength"/> characters.</summary>
    public static string Clip(string message) =>
        message.Length > MaxMessageLength ? string.Concat(message.AsSpan(0, MaxMessageLength), "...") : message;

    /// <summary>The JSON bytes of an error body.</summary>
    public static byte[] Format(string message)
    {
        message = Clip(message);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, Options))
        {
            writer.WriteStartObject();
            writer.WriteString("error"u8, message);
            writer.WriteEndObject();
        }

        return stream.ToArray();
    }
}
