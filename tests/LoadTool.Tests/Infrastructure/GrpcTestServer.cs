using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenInferenceProtocol;

namespace ServingGateway.LoadTool.Tests.Infrastructure;

/// <summary>
/// An in-process gRPC server on 127.0.0.1 (h2c, a free port) that speaks just enough of
/// inference.GRPCInferenceService for the tool, framing messages by hand (5-byte prefix, grpc-status trailers):
/// ModelMetadata of "m" (one FP32 [-1,4] input; NOT_FOUND for any other name) and ModelInfer, which keeps every request it parsed, the HTTP/2
/// connection it came on and its authorization header, and answers OK, unless <see cref="Refuse"/> says which
/// infer requests (numbered from 1) to answer with a status instead (trailers-only, as gRPC servers answer a
/// call that fails before its first message).
/// </summary>
internal sealed class GrpcTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _count;

    private GrpcTestServer(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>Infer request number (from 1) -> the status, message and retry-after it is answered with; null: OK.</summary>
    public Func<int, (Grpc.Core.StatusCode Code, string Message, string? RetryAfter)?> Refuse { get; init; } = _ => null;

    /// <summary>Infer requests received so far.</summary>
    public int Count => Volatile.Read(ref _count);

    public ConcurrentQueue<ModelInferRequest> Requests { get; } = new();

    public ConcurrentDictionary<string, int> Connections { get; } = new();

    public ConcurrentDictionary<string, int> Authorizations { get; } = new();

    public static async Task<GrpcTestServer> StartAsync(Func<int, (Grpc.Core.StatusCode, string, string?)?>? refuse = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new GrpcTestServer(app) { Refuse = refuse ?? (_ => null) };
        app.MapPost("/inference.GRPCInferenceService/ModelMetadata", async context =>
        {
            var request = ModelMetadataRequest.Parser.ParseFrom(await ReadMessageAsync(context));
            if (request.Name != "m")
            {
                WriteStatus(context, Grpc.Core.StatusCode.NotFound, $"unknown model '{request.Name}'", null);
                return;
            }

            var response = new ModelMetadataResponse { Name = request.Name, Platform = "test" };
            response.Inputs.Add(new ModelMetadataResponse.Types.TensorMetadata { Name = "x", Datatype = "FP32", Shape = { -1, 4 } });
            await WriteMessageAsync(context, response);
        });
        app.MapPost("/inference.GRPCInferenceService/ModelInfer", server.InferAsync);
        await app.StartAsync();
        server.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    private async Task InferAsync(HttpContext context)
    {
        var request = ModelInferRequest.Parser.ParseFrom(await ReadMessageAsync(context));
        var number = Interlocked.Increment(ref _count);
        Requests.Enqueue(request);
        Connections.AddOrUpdate(context.Connection.Id, 1, (_, n) => n + 1);
        Authorizations.AddOrUpdate(context.Request.Headers.Authorization.ToString(), 1, (_, n) => n + 1);
        context.Response.Headers["x-served-by"] = "grpc-test-server";
        if (Refuse(number) is { } refusal)
        {
            WriteStatus(context, refusal.Code, refusal.Message, refusal.RetryAfter);
            return;
        }

        var response = new ModelInferResponse { ModelName = request.ModelName };
        response.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor { Name = "y", Datatype = "FP32", Shape = { 1, 1 } });
        response.RawOutputContents.Add(ByteString.CopyFrom(new byte[4]));
        await WriteMessageAsync(context, response);
    }

    private static void WriteStatus(HttpContext context, Grpc.Core.StatusCode code, string message, string? retryAfter)
    {
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = message;
        if (retryAfter is not null)
        {
            context.Response.Headers["retry-after"] = retryAfter;
        }
    }

    private static async Task<byte[]> ReadMessageAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var bytes = body.ToArray();
        var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1, 4));
        return bytes[5..(5 + length)];
    }

    private static async Task WriteMessageAsync(HttpContext context, IMessage message)
    {
        context.Response.ContentType = "application/grpc";
        var payload = message.ToByteArray();
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1, 4), payload.Length);
        payload.CopyTo(frame, 5);
        await context.Response.Body.WriteAsync(frame);
        context.Response.AppendTrailer("grpc-status", "0");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
