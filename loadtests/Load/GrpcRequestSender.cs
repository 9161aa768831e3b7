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

    // ModelInfer on pre-serialized bytes: the request marshaller passes them through, the response one reads only the
    // model_version at the head of the message (already read whole by the client) and decodes nothing else.
    private static readonly Method<byte[], string> ModelInfer = new(
        MethodType.Unary,
        GRPCInferenceService.Descriptor.FullName,
        "ModelInfer",
        Marshallers.Create(static (byte[] bytes) => bytes, static bytes => bytes),
        new Marshaller<string>(static (_, _) => throw new NotSupportedException("responses are never sent"), static context => ModelVersionOf(context.PayloadAsReadOnlySequence()) ?? ""));

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
            var version = await call.ResponseAsync.ConfigureAwait(false);
            var answer = await call.ResponseHeadersAsync.ConfigureAwait(false);
            return new RequestOutcome(targetIndex, ResponseStatus.Grpc(StatusCode.OK), null, answer.GetValue("x-cache"), answer.GetValue("x-served-by"), Version: version.Length > 0 ? version : null);
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

    /// <summary>
    /// The <c>model_version</c> (field 2) of a serialized ModelInferResponse, read from the message's head: fields 1
    /// (model_name) and 2 come first as every encoder writes fields in number order; null when it is not there.
    /// </summary>
    internal static string? ModelVersionOf(System.Buffers.ReadOnlySequence<byte> message)
    {
        Span<byte> head = stackalloc byte[(int)Math.Min(message.Length, 512)];
        System.Buffers.BuffersExtensions.CopyTo(message.Slice(0, head.Length), head);
        var at = 0;
        while (at < head.Length && ReadVarint(head, ref at) is { } tag && (tag & 7) == 2 && ReadVarint(head, ref at) is { } length)
        {
            if (length > (ulong)(head.Length - at))
            {
                return null;
            }

            if (tag >> 3 == 2)
            {
                return System.Text.Encoding.UTF8.GetString(head.Slice(at, (int)length));
            }

            if (tag >> 3 != 1)
            {
                return null;
            }

            at += (int)length;
        }

        return null;
    }

    private static ulong? ReadVarint(ReadOnlySpan<byte> bytes, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64 && at < bytes.Length; shift += 7)
        {
            var b = bytes[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        return null;
    }
}
