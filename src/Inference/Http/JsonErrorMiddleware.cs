using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Common;

namespace ServingGateway.Inference.Http;

/// <summary>
/// The one place a failure becomes HTTP, for every role: an <see cref="InferenceException"/> thrown anywhere
/// below (endpoints, the serving pipeline, the repository) is written as its status and <c>{"error": "..."}</c>
/// (with Retry-After when it carries one); errors ASP.NET answers with an empty body (404 no route, 405 wrong
/// method, 413 from Kestrel's limit, 400 bad framing) get a JSON body too; any other exception that escapes a
/// handler becomes a logged 500 rather than a dropped connection.
/// </summary>
internal sealed partial class JsonErrorMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ILogger<JsonErrorMiddleware> _logger;

    public JsonErrorMiddleware(RequestDelegate next, ILogger<JsonErrorMiddleware> logger)
    {
        _next = next;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await _next(context);
        }
        catch (InferenceException ex)
        {
            await ErrorResponse.WriteAsync(context, ex.StatusCode, ex.Message, ex.RetryAfter);
            return;
        }
        catch (BadHttpRequestException ex)
        {
            await ErrorResponse.WriteAsync(context, ex.StatusCode, ex.Message);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
            return;
        }
        catch (Exception ex)
        {
            Log.Unhandled(_logger, context.Request.Method, context.Request.Path, ex);
            await ErrorResponse.WriteAsync(context, StatusCodes.Status500InternalServerError, "internal server error; see the server log");
            return;
        }

        var response = context.Response;
        if (response.StatusCode >= 400 && !response.HasStarted && response.ContentLength is null && string.IsNullOrEmpty(response.ContentType))
        {
            // A gRPC call the router found no endpoint for is an unknown RPC: UNIMPLEMENTED, as gRPC servers answer it.
            var status = response.StatusCode == StatusCodes.Status404NotFound && GrpcStatus.IsGrpc(context.Request) ? StatusCodes.Status501NotImplemented : response.StatusCode;
            await ErrorResponse.WriteAsync(context, status, Describe(context, status));
        }
    }

    private static string Describe(HttpContext context, int status)
    {
        var request = context.Request;
        return status switch
        {
            StatusCodes.Status501NotImplemented => $"no RPC {request.Path} here; the service is inference.GRPCInferenceService (see docs/API.md)",
            StatusCodes.Status404NotFound => $"no endpoint at {request.Path}; the API is under /v2 (see docs/API.md)",
            StatusCodes.Status405MethodNotAllowed => $"{request.Method} is not allowed on {request.Path}; allowed: {context.Response.Headers.Allow}",
            StatusCodes.Status413PayloadTooLarge => "the request body exceeds the configured limit",
            _ => $"request failed with status {status}",
        };
    }

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Error, "Unhandled error on {Method} {Path}")]
        public static partial void Unhandled(ILogger logger, string method, string path, Exception exception);
    }
}
