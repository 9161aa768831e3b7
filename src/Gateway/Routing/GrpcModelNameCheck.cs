using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace ServingGateway.Routing;

/// <summary>
/// Where the whole message is parsed (standalone, node): refuses a request whose message names another model than the
/// one <see cref="GrpcModelNameMiddleware"/> read from its first bytes. Protobuf takes a field's last occurrence, and
/// one past the prefix is not seen there: without this check, a message could name a model with a loose rate limit
/// first and be served as another. Behind an edge, the node reads the same prefix the same way, so it refuses what
/// the edge routed and limited under the wrong name. INVALID_ARGUMENT, as any malformed request.
/// </summary>
internal sealed class GrpcModelNameCheck : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var http = context.GetHttpContext();
        if (http.GetEndpoint()?.Metadata.GetMetadata<GrpcModelField>() is { } field
            && http.Request.RouteValues.TryGetValue(GrpcModelNameMiddleware.RouteValue, out var value) && value is string routed
            && request is IMessage message
            && message.Descriptor.FindFieldByNumber(field.Field)?.Accessor.GetValue(message) is string parsed
            && !string.Equals(parsed, routed, StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"the request names its model more than once ('{Clip(routed)}' in its first {GrpcModelName.MaxPrefixBytes} bytes, '{Clip(parsed)}' last): name it once"));
        }

        return continuation(request, context);
    }

    private static string Clip(string name) => name.Length <= 64 ? name : name[..64] + "...";
}
