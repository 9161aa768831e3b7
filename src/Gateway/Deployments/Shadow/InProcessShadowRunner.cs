using System.Globalization;
using System.Runtime.InteropServices;
using ServingGateway.Inference;

namespace ServingGateway.Deployments.Shadow;

/// <summary>
/// Runs a mirrored request in this process (standalone): through the node's own infer endpoint for
/// <c>/v2/models/{model}/versions/{version}/infer</c>, behind the same JSON error middleware as a caller's, on an
/// HTTP context of its own (no connection, no edge pipeline: not authenticated, rate limited or split). It is
/// the shadow version's request in that version's statistics and metrics, as any request to that route is.
/// </summary>
/// <remarks>
/// Caches: the node's exact-response and prediction caches are keyed by the version's digest, so a shadow request
/// may be answered from the shadow version's own earlier answer to the same input (still that version's answer), and
/// never from the serving version's.
/// </remarks>
internal sealed class InProcessShadowRunner(EndpointDataSource endpoints, IServiceProvider services) : IShadowRunner
{
    /// <summary>The route the shadow runs on: the one that always reaches the version it names.</summary>
    public const string VersionInferRoute = "/v2/models/{model}/versions/{version}/infer";

    /// <summary>The binary tensor data extension's header: the length of the JSON before the raw bytes.</summary>
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";

    private RequestDelegate? _pipeline;

    public async Task<ShadowAnswer> RunAsync(ShadowRequest request, CancellationToken cancellationToken)
    {
        var pipeline = _pipeline ??= Build();
        await using var scope = services.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider, RequestAborted = cancellationToken };
        var version = request.Version.ToString(CultureInfo.InvariantCulture);
        var http = context.Request;
        http.Method = HttpMethods.Post;
        http.Scheme = "http";
        http.Path = $"/v2/models/{request.Model}/versions/{version}/infer";
        http.ContentType = request.ContentType;
        if (request.HeaderLength is { } headerLength)
        {
            http.Headers[HeaderLengthHeader] = headerLength;
        }

        http.ContentLength = request.Body.Length;
        http.Body = MemoryMarshal.TryGetArray(request.Body, out var body)
            ? new MemoryStream(body.Array!, body.Offset, body.Count, writable: false)
            : new MemoryStream(request.Body.ToArray(), writable: false);
        http.RouteValues["model"] = request.Model;
        http.RouteValues["version"] = version;
        using var answer = new MemoryStream();
        context.Response.Body = answer;
        await pipeline(context).ConfigureAwait(false);
        await context.Response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested(); // a request the middleware saw abandoned has no answer
        int? length = context.Response.Headers.TryGetValue(HeaderLengthHeader, out var values)
            && int.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
        return new ShadowAnswer(context.Response.StatusCode, answer.ToArray(), length);
    }

    // The node's infer endpoint for a named version, behind the JSON error middleware that writes every failure as HTTP.
    private RequestDelegate Build()
    {
        var endpoint = endpoints.Endpoints.OfType<RouteEndpoint>()
            .FirstOrDefault(e => e.RoutePattern.RawText == VersionInferRoute && e.RequestDelegate is not null)
            ?? throw new InvalidOperationException($"no endpoint for {VersionInferRoute} in this process: shadow runs in process need the node's endpoints (standalone)");
        var app = new ApplicationBuilder(services);
        app.UseJsonErrors();
        app.Use(next => context =>
        {
            context.SetEndpoint(endpoint);
            return endpoint.RequestDelegate!(context);
        });
        return app.Build();
    }
}
