using System.IO.Pipelines;
using ServingGateway.Inference.Common;

namespace ServingGateway.Routing;

/// <summary>
/// After routing, before keys and rate limits: for a gRPC method whose request names a model
/// (<see cref="GrpcModelField"/> metadata), reads the name from the first bytes of the body
/// (<see cref="GrpcModelName"/>) and sets the <c>model</c> route value, the one REST's router binds, so rate limits,
/// consistent hashing, the audit log and metrics read the model as they do for REST. The body is peeked, never
/// consumed: the bytes stay in the request's pipe for the gRPC service or YARP. When the name cannot be read
/// (compressed message, not in the prefix, malformed), there is no route value: the request is routed by its method
/// and counted against the default rate limit, and the server answers whatever the message holds.
/// </summary>
internal sealed partial class GrpcModelNameMiddleware(RequestDelegate next, ILogger<GrpcModelNameMiddleware> logger)
{
    /// <summary>The route value set: the one <c>{model}</c> binds for REST.</summary>
    public const string RouteValue = "model";

    public Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcModelField>() is not { } field || !GrpcStatus.IsGrpc(context.Request))
        {
            return next(context);
        }

        return ReadThenNextAsync(context, field.Field);
    }

    private async Task ReadThenNextAsync(HttpContext context, int field)
    {
        var (status, name) = await PeekAsync(context.Request.BodyReader, field, context.RequestAborted);
        if (name is not null)
        {
            context.Request.RouteValues[RouteValue] = name;
        }
        else if (status != GrpcModelNameStatus.Absent)
        {
            Log.NotRead(logger, context.Request.Path, status);
        }

        await next(context);
    }

    /// <summary>
    /// Reads the name from <paramref name="reader"/>'s first bytes, waiting for more only while the prefix is not full
    /// and the body goes on; consumes nothing.
    /// </summary>
    internal static async ValueTask<(GrpcModelNameStatus Status, string? Name)> PeekAsync(PipeReader reader, int field, CancellationToken cancellationToken)
    {
        long examined = 0;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var status = GrpcModelName.TryRead(buffer, field, result.IsCompleted || result.IsCanceled, out var name);
            if (status != GrpcModelNameStatus.NeedMore)
            {
                // A pipe's examined position never moves back: it stays where the last wait left it, so the next
                // reader's first read returns at once with what has arrived since.
                reader.AdvanceTo(buffer.Start, buffer.GetPosition(examined));
                return (status, name);
            }

            examined = buffer.Length;
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(160, LogLevel.Debug, "gRPC {Path}: model name not read ({Status}); routed by the method, default rate limit")]
        public static partial void NotRead(ILogger logger, PathString path, GrpcModelNameStatus status);
    }
}
