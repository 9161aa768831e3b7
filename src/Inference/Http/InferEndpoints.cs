using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Serving;

namespace ServingGateway.Inference.Http;

/// <summary>OIP infer: hands the request to the <see cref="InferencePipeline"/> and writes the reply it encodes.</summary>
internal sealed class InferEndpoints(InferencePipeline pipeline)
{
    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/v2/models/{model}/infer", InferAsync);
        endpoints.MapPost("/v2/models/{model}/versions/{version}/infer", InferAsync);
    }

    private async Task InferAsync(HttpContext context)
    {
        var (name, versionText) = RouteModel.Read(context);
        using var reply = await pipeline.InferAsync(name, versionText, context.Request, context.RequestAborted);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers["X-Cache"] = CacheHeader(reply.Outcome);
        RouteModel.SetModelHeaders(response, reply.Model.VersionText, reply.Model.Digest);
        if (reply.HeaderLength is { } headerLength)
        {
            response.Headers[InferencePipeline.HeaderLengthHeader] = headerLength.ToString(CultureInfo.InvariantCulture);
            response.ContentType = "application/octet-stream";
        }
        else
        {
            response.ContentType = "application/json";
        }

        response.ContentLength = reply.ContentLength;
        if (reply.Whole is { } whole)
        {
            await response.Body.WriteAsync(whole, context.RequestAborted);
            return;
        }

        reply.CopyTo(response.BodyWriter);
        await response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    /// <summary>The X-Cache header of an answer that came from <paramref name="outcome"/>.</summary>
    internal static string CacheHeader(CacheOutcome outcome) => outcome switch
    {
        CacheOutcome.HitMemory => "hit-memory",
        CacheOutcome.HitRedis => "hit-redis",
        CacheOutcome.Miss => "miss",
        CacheOutcome.Paused => "paused",
        _ => "bypass",
    };
}
