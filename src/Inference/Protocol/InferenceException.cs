using Microsoft.AspNetCore.Http;

namespace ServingGateway.Inference.Protocol;

/// <summary>
/// A failure with the HTTP status and message the caller receives as <c>{"error": "..."}</c>.
/// </summary>
internal sealed class InferenceException : Exception
{
    public InferenceException(int statusCode, string message)
        : base(message)
    {
        StatusCode = statusCode;
    }

    public InferenceException(int statusCode, string message, Exception inner)
        : base(message, inner)
    {
        StatusCode = statusCode;
    }

    /// <summary>The HTTP status code of the response.</summary>
    public int StatusCode { get; }

    /// <summary>When set, sent as Retry-After (whole seconds, at least 1): for 503 and 429.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>A 400: the request is malformed or does not fit the model.</summary>
    public static InferenceException BadRequest(string message) => new(StatusCodes.Status400BadRequest, message);

    /// <summary>The most characters of a caller's text (a name, a datatype) an error message repeats.</summary>
    public const int MaxEchoLength = 64;

    /// <summary>
    /// <paramref name="text"/> as an error message may repeat it: cut at <see cref="MaxEchoLength"/> characters
    /// with the full length noted, so a huge name cannot make a huge answer.
    /// </summary>
    public static string Clip(string? text) =>
        text is null || text.Length <= MaxEchoLength ? text ?? "" : $"{text[..MaxEchoLength]}... ({text.Length} characters)";

    /// <summary>
    /// The start of a JSON string token's raw UTF-8 as an error message may repeat it (see <see cref="Clip(string?)"/>),
    /// without reading the whole string into memory first.
    /// </summary>
    public static string Clip(ref System.Text.Json.Utf8JsonReader reader)
    {
        if (reader.HasValueSequence)
        {
            return Clip(reader.GetString());
        }

        var raw = reader.ValueSpan;
        var text = System.Text.Encoding.UTF8.GetString(raw[..Math.Min(raw.Length, MaxEchoLength * 4)]);
        return raw.Length <= MaxEchoLength * 4 ? Clip(text) : $"{text[..Math.Min(text.Length, MaxEchoLength)]}... ({raw.Length} bytes)";
    }

    /// <summary>A 404: the model or version is not known or not loaded.</summary>
    public static InferenceException NotFound(string message) => new(StatusCodes.Status404NotFound, message);
}
