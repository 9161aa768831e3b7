using System.Net.Sockets;
using Microsoft.AspNetCore.Http.Features;
using ServingGateway.Edge;
using ServingGateway.Inference.Common;
using Yarp.ReverseProxy.Forwarder;

namespace ServingGateway.Routing;

/// <summary>
/// A step of the YARP pipeline, before load balancing: a request that could not even connect to its node
/// (nothing of it was sent, so repeating it is safe; infer is idempotent) is sent once more, to the next
/// node on the ring. Errors after the connection was made are not retried. It also counts what was
/// forwarded where, and marks a node that answered 503 with Retry-After as saturated for that long
/// (<see cref="NodeSaturation"/>), so the requests after it spill to the next node on the ring; the refused
/// request itself is answered with the node's 503 (its body was sent and is not kept to send again).
/// </summary>
internal sealed class RetryOnConnectFailure(EdgeMetrics metrics, NodeSaturation saturation)
{
    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        // Load balancing narrows the available destinations to the one it picked: keep the full list.
        var proxy = context.GetReverseProxyFeature();
        var candidates = proxy.AvailableDestinations;
        await next().ConfigureAwait(false);
        var error = context.Features.Get<IForwarderErrorFeature>();
        if (error is null || context.Response.HasStarted || !IsConnectFailure(error))
        {
            Record(context, error);
            return;
        }

        var failed = proxy.ProxiedDestination;
        var remaining = candidates.Where(d => !ReferenceEquals(d, failed)).ToArray();
        if (remaining.Length == 0)
        {
            Record(context, error);
            return;
        }

        metrics.Retried(failed?.DestinationId ?? "");

        proxy.AvailableDestinations = remaining;
        context.Features.Set<IForwarderErrorFeature>(null);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.Headers.Clear();
        context.Items[RetriedItem] = failed?.DestinationId;
        await next().ConfigureAwait(false);
        Record(context, context.Features.Get<IForwarderErrorFeature>());
    }

    private void Record(HttpContext context, IForwarderErrorFeature? error)
    {
        if (context.GetReverseProxyFeature().ProxiedDestination is { } destination)
        {
            var status = AnswerStatus(context);
            metrics.Forwarded(destination.DestinationId, status, error is not null);
            if (error is null && status == StatusCodes.Status503ServiceUnavailable
                && saturation.ParseRetryAfter(context.Response.Headers.RetryAfter) is { } retryAfter)
            {
                saturation.Mark(destination.DestinationId, retryAfter);
                metrics.Saturated(destination.DestinationId);
            }
        }
    }

    /// <summary>
    /// The status the node answered: the HTTP status, or for a gRPC answer (HTTP 200 whatever happened) the one its
    /// <c>grpc-status</c> stands for (<see cref="GrpcStatus.ToHttp"/>), so gRPC failures count as REST's do; UNAVAILABLE
    /// with its <c>retry-after</c> is a saturated node, as REST's 503 with Retry-After.
    /// </summary>
    internal static int AnswerStatus(HttpContext context)
    {
        var response = context.Response;
        if (response.StatusCode != StatusCodes.Status200OK || !GrpcStatus.IsGrpc(context.Request))
        {
            return response.StatusCode;
        }

        var code = response.Headers[GrpcStatus.StatusHeader].ToString();
        if (code.Length == 0)
        {
            code = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers[GrpcStatus.StatusHeader].ToString() ?? "";
        }

        return GrpcStatus.ToHttp(code);
    }

    /// <summary>HttpContext.Items key set when a request was retried; the value is the node that failed.</summary>
    public const string RetriedItem = "sg.retried-from";

    /// <summary>True when the request failed before any byte reached the node: the connection itself failed.</summary>
    public static bool IsConnectFailure(IForwarderErrorFeature error)
    {
        if (error.Error != ForwarderError.Request)
        {
            return false;
        }

        for (var exception = error.Exception; exception is not null; exception = exception.InnerException)
        {
            if (exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError })
            {
                return true;
            }

            if (exception is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostNotFound })
            {
                return true;
            }
        }

        return false;
    }
}
