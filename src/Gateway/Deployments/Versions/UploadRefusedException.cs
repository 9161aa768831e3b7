namespace ServingGateway.Deployments.Versions;

/// <summary>An upload refused with a 4xx: <see cref="StatusCode"/> and the message the caller receives as <c>{"error": "..."}</c>.</summary>
internal sealed class UploadRefusedException(int statusCode, string message) : Exception(message)
{
    /// <summary>The HTTP status of the answer (400, 409, 413, 415).</summary>
    public int StatusCode { get; } = statusCode;

    /// <summary>A 400: the upload is not a version this repository can store.</summary>
    public static UploadRefusedException BadRequest(string message) => new(StatusCodes.Status400BadRequest, message);

    /// <summary>What the caller chose (a name, a path) as a message repeats it: cut at 64 characters.</summary>
    public static string Echo(string text) => text.Length > 64 ? text[..64] + "..." : text;
}
