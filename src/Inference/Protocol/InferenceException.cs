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

    /// <summary>A 404: the model or version is not known or not loaded.</summary>
    public static InferenceException NotFound(string message) => new(StatusCodes.Status404NotFound, message);
}
