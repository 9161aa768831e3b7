using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using ServingGateway.Inference.Common;
using ServingGateway.Inference.Protocol;

namespace ServingGateway.Inference.Grpc;

/// <summary>
/// What <c>JsonErrorMiddleware</c> is to REST, for the gRPC service: an <see cref="InferenceException"/> becomes
/// the status its HTTP code maps to (<see cref="GrpcStatus"/>) with the same message, and its retry delay in the
/// <c>retry-after</c> trailer; a cancelled call stays cancelled; anything else is logged and answered INTERNAL.
/// </summary>
internal sealed partial class GrpcErrorInterceptor(ILogger<GrpcErrorInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (InferenceException ex)
        {
            var trailers = new Metadata();
            if (ex.RetryAfter is { } wait)
            {
                trailers.Add(GrpcStatus.RetryAfterTrailer, GrpcStatus.RetryAfterSeconds(wait));
            }

            throw new RpcException(new Status(GrpcStatus.FromHttp(ex.StatusCode), ErrorResponse.Clip(ex.Message)), trailers);
        }
        catch (Exception ex) when (ex is not RpcException && !(ex is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
        {
            Log.Unhandled(logger, context.Method, ex);
            throw new RpcException(new Status(StatusCode.Internal, "internal server error; see the server log"));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(115, LogLevel.Error, "Unhandled error in gRPC {Method}")]
        public static partial void Unhandled(ILogger logger, string method, Exception exception);
    }
}
