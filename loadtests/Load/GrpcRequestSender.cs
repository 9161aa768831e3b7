using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using OpenInferenceProtocol;
using ServingGateway.LoadTool.Cli;
using ServingGateway.LoadTool.Results;

namespace ServingGateway.LoadTool.Load;

/// <summary>
/// Sends infer requests as <c>inference.GRPCInferenceService/ModelInfer</c> calls over a fixed set of channels,
/// round robin, and turns every result into a <see cref="RequestOutcome"/>: the gRPC status (OK, or the code and
/// message of an RpcException), a retry-after trailer, x-cache and x-served-by response headers. A call that got
/// no response at all (connection refused, reset, the tool's timeout) is a failure without a status, as in REST.
/// </summary>
/// <remarks>
/// Each request's message was serialized once when the payload was built (<see cref="Payloads.GrpcPayloadEncoder"/>):
/// the call sends those bytes as they are, and the answer is read to its end and dropped undecoded, as the REST
/// sender drops the body it reads; so the tool measures neither its protobuf encoding nor decoding.
/// </remarks>
internal sealed class GrpcRequestSender(IReadOnlyList<GrpcChannel> channels, IReadOnlyList<LoadTarget> targets, TargetSelector selector, Metadata? headers, TimeSpan timeout)
    : IRequestSender
{
    /// <summary>The method's path below the server's URL.</summary>
    public static readonly string InferPath = $"{GRPCInferenceService.Descriptor.FullName}/ModelInfer";

    /// <summary>The trailer with the seconds to wait before retrying (the server's GrpcStatus.RetryAfterTrailer).</summary>
    public const string RetryAfterTrailer = "retry-after";

    // ModelInfer on pre-serialized bytes: the request marshaller passes them through, the response one drops the
    // message (already read whole by the client) without decoding it.
    private static readonly Method<byte[], byte[]> ModelInfer = new(
        MethodType.Unary,
        GRPCInferenceService.Descriptor.FullName,
        "ModelInfer",
        Marshallers.Create(static (byte[] bytes) => bytes, static bytes => bytes),
        new Marshaller<byte[]>(static (_, _) => throw new NotSupportedException("responses are never sent"), static _ => []));

    private readonly CallInvoker[] _invokers = [.. channels.Select(c => c.CreateCallInvoker())];
    private long _nextChannel = -1;

    public Task<RequestOutcome> SendAsync(long index, CancellationToken cancellationToken) =>
        SendToAsync(selector.Pick(index), cancellationToken);

    public async Task<RequestOutcome> SendToAsync(int targetIndex, CancellationToken cancellationToken)
    {
        var target = targets[targetIndex];
        var invoker = _invokers[(int)((ulong)Interlocked.Increment(ref _nextChannel) % (ulong)_invokers.Length)];
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            using var call = invoker.AsyncUnaryCall(ModelInfer, null, new CallOptions(headers, cancellationToken: timeoutSource.Token), target.NextBody().Bytes);
            await call.ResponseAsync.ConfigureAwait(false);
            var answer = await call.ResponseHeadersAsync.ConfigureAwait(false);
            return new RequestOutcome(targetIndex, ResponseStatus.Grpc(StatusCode.OK), null, answer.GetValue("x-cache"), answer.GetValue("x-served-by"));
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            return RequestOutcome.Abort(targetIndex);
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException && timeoutSource.IsCancellationRequested)
        {
            return RequestOutcome.Failure(targetIndex, "timeout");
        }
        catch (RpcException ex) when (ex.Status.DebugException is { } transport)
        {
            return RequestOutcome.Failure(targetIndex, TransportReason(transport));
        }
        catch (RpcException ex)
        {
            return new RequestOutcome(targetIndex, ResponseStatus.Grpc(ex.StatusCode), RequestSender.Cut(ex.Status.Detail), ex.Trailers.GetValue("x-cache"),
                ex.Trailers.GetValue("x-served-by"), ex.Trailers.Get(RetryAfterTrailer) is not null);
        }
    }

    /// <summary>
    /// The channels of a gRPC run: <c>--connections</c> of them (default 1), each its own HTTP/2 connection that
    /// opens a further one only when its streams pass the server's concurrent-stream limit (Kestrel: 100).
    /// </summary>
    public static GrpcChannel[] CreateChannels(LoadOptions options) =>
        [.. Enumerable.Range(0, options.Connections ?? 1).Select(_ => GrpcChannel.ForAddress(options.Url!, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                UseProxy = false,
                UseCookies = false,
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                EnableMultipleHttp2Connections = true,
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
                ConnectTimeout = options.Timeout,
            },
            DisposeHttpClient = true,
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
        }))];

    /// <summary>The authorization metadata of <c>--api-key</c>; null without a key.</summary>
    public static Metadata? Headers(LoadOptions options) =>
        options.ApiKey is { } key ? new Metadata { { "authorization", $"Bearer {key}" } } : null;

    private static string TransportReason(Exception ex) => ex switch
    {
        HttpRequestException http => RequestSender.TransportReason(http),
        _ => RequestSender.Cut(ex.Message),
    };
}
