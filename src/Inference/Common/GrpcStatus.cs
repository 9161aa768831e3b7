using System.Globalization;
using System.Text;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace ServingGateway.Inference.Common;

/// <summary>
/// The one table from the server's HTTP statuses to gRPC status codes, and how a gRPC caller is told a status
/// (<see cref="ErrorResponse"/> writes it for failures outside a gRPC method: keys, rate limits, the drain;
/// the gRPC service's interceptor for failures inside one). The message is the REST error's message; a retry
/// delay travels as <c>retry-after</c> (whole seconds, as REST's header) in the trailers.
/// </summary>
public static class GrpcStatus
{
    /// <summary>The header (trailers-only answers) or trailer that carries a call's status code.</summary>
    public const string StatusHeader = "grpc-status";

    /// <summary>The trailer with the seconds to wait before retrying (UNAVAILABLE, RESOURCE_EXHAUSTED).</summary>
    public const string RetryAfterTrailer = "retry-after";

    /// <summary>True for a gRPC request (content type application/grpc, application/grpc+proto, ...).</summary>
    public static bool IsGrpc(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    /// <summary>The gRPC status code of an HTTP status the server answers with.</summary>
    public static StatusCode FromHttp(int status) => status switch
    {
        StatusCodes.Status400BadRequest => StatusCode.InvalidArgument,
        StatusCodes.Status401Unauthorized => StatusCode.Unauthenticated,
        StatusCodes.Status403Forbidden => StatusCode.PermissionDenied,
        StatusCodes.Status404NotFound => StatusCode.NotFound,
        StatusCodes.Status405MethodNotAllowed => StatusCode.Unimplemented,
        StatusCodes.Status408RequestTimeout or StatusCodes.Status504GatewayTimeout => StatusCode.DeadlineExceeded,
        StatusCodes.Status409Conflict => StatusCode.FailedPrecondition,
        StatusCodes.Status413PayloadTooLarge or StatusCodes.Status429TooManyRequests => StatusCode.ResourceExhausted,
        StatusCodes.Status499ClientClosedRequest => StatusCode.Cancelled,
        StatusCodes.Status501NotImplemented => StatusCode.Unimplemented,
        StatusCodes.Status502BadGateway or StatusCodes.Status503ServiceUnavailable => StatusCode.Unavailable,
        >= 400 and < 500 => StatusCode.FailedPrecondition,
        _ => StatusCode.Internal,
    };

    /// <summary>
    /// The HTTP status a gRPC answer's status code (the <see cref="StatusHeader"/> text) counts as, the other way: OK
    /// (or none) 200; UNAVAILABLE 503; DEADLINE_EXCEEDED 504; UNKNOWN, UNIMPLEMENTED, INTERNAL, DATA_LOSS 500 (the
    /// server's); every other code 400 (the caller's).
    /// </summary>
    public static int ToHttp(string code) => code switch
    {
        "" or "0" => StatusCodes.Status200OK,
        "14" => StatusCodes.Status503ServiceUnavailable,
        "4" => StatusCodes.Status504GatewayTimeout,
        "2" or "12" or "13" or "15" => StatusCodes.Status500InternalServerError,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>The retry-after value of a delay: whole seconds, rounded up, never 0.</summary>
    public static string RetryAfterSeconds(TimeSpan wait) =>
        Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Answers a gRPC request with <paramref name="status"/> and no message ("trailers-only": the status in the
    /// response headers, as gRPC servers answer a call that fails before its first message).
    /// </summary>
    internal static void WriteTrailersOnly(HttpResponse response, int status, string message, TimeSpan? retryAfter)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers[StatusHeader] = ((int)FromHttp(status)).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = PercentEncode(message);
        if (retryAfter is { } wait)
        {
            response.Headers[RetryAfterTrailer] = RetryAfterSeconds(wait);
        }
    }

    // grpc-message is percent-encoded UTF-8: bytes outside printable ASCII, and '%', as %XX.
    private static string PercentEncode(string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        var text = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E && b != (byte)'%')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }
}
