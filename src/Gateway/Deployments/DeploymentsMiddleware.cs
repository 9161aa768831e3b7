using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Microsoft.Extensions.Options;
using ServingGateway.Deployments.Shadow;
using ServingGateway.Inference;
using ServingGateway.Inference.Common;
using ServingGateway.Routing;

namespace ServingGateway.Deployments;

/// <summary>
/// Picks the version of each REST infer request that names none (issue 13 item 3), on the endpoint the router chose:
/// the <c>X-Model-Version</c> header pins one; else the model's traffic split draws one, by the <c>X-Routing-Key</c>
/// header when sent (one key sees one version while the split holds) and at random otherwise; a model without a
/// split is left to the node (its highest ready version). <c>/v2/models/{m}/versions/{v}/infer</c> always reaches v.
/// For a model under a split, every answer is recorded by the version that gave it (the <c>X-Model-Version</c>
/// response header) for the rollout's analysis (<see cref="RolloutEvidence"/>). Standalone, the choice is the route's
/// version value the infer endpoint reads; an edge also forwards to that version's path (<see cref="DeploymentChoice"/>).
/// </summary>
internal sealed class DeploymentsMiddleware(RequestDelegate next, TrafficSplits splits, RolloutEvidence evidence, TimeProvider time, IServiceProvider services)
{
    // Shadow mirroring runs where a shadow runner is registered (ShadowServiceCollectionExtensions); null elsewhere.
    private readonly ShadowMirroring? _shadows = services.GetService<ShadowMirroring>();
    private readonly long _captureLimit = services.GetService<IOptions<ShadowOptions>>()?.Value.MaxQueuedBytes ?? 0;

    /// <summary>The request header that pins a version, and the response header that names the version which answered.</summary>
    public const string VersionHeader = "X-Model-Version";

    private const string InferPattern = "/v2/models/{model}/infer";
    private const string VersionedInferPattern = "/v2/models/{model}/versions/{version}/infer";

    public Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint() is not RouteEndpoint { RoutePattern.RawText: InferPattern or VersionedInferPattern }
            || RoutingKey.ModelName(context.Request) is not { } model)
        {
            return next(context);
        }

        if (!TryPin(context.Request, out var pin))
        {
            return ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, $"{VersionHeader} must be one version number (such as 2), not '{context.Request.Headers[VersionHeader]}'");
        }

        var slots = splits.Slots(model);
        if (context.Request.RouteValues["version"] is null && (pin ?? Draw(context.Request, model, slots)) is { } chosen)
        {
            context.Request.RouteValues["version"] = chosen;
            context.Features.Set(new DeploymentChoice(model, chosen));
        }

        if (slots?.Split.Shadow is { } shadow && _shadows is { } shadows && shadows.ShouldMirror(model, shadow))
        {
            return MirrorAsync(context, model, shadow, shadows);
        }

        if (slots is not null)
        {
            Record(context, model);
        }

        return next(context);
    }

    // Records the answer once it is complete, whatever wrote it (the endpoint, or the JSON error middleware).
    private void Record(HttpContext context, string model)
    {
        var started = time.GetTimestamp();
        context.Response.OnCompleted(() =>
        {
            if (AnsweredBy(context) is { } version)
            {
                evidence.RecordAnswer(model, version, context.Response.StatusCode, time.GetElapsedTime(started).TotalMilliseconds);
            }

            return Task.CompletedTask;
        });
    }

    // A request sampled for the shadow: its body and its answer pass through as always and are copied on the way (up to
    // Deployments:Shadow:MaxQueuedBytes each), then offered to the shadow, which runs later, off this request's path.
    // An answer given by the shadow version itself (a pin) is not compared with itself.
    private async Task MirrorAsync(HttpContext context, string model, ShadowMirror shadow, ShadowMirroring shadows)
    {
        Record(context, model);
        var (request, response) = (context.Request.Body, context.Response.Body);
        var sent = new CapturingStream(request, _captureLimit);
        var answered = new CapturingStream(response, _captureLimit);
        context.Request.Body = sent;
        context.Response.Body = answered;
        try
        {
            await next(context);

            // What the endpoint wrote through the body's pipe and left for the server to flush goes through the copy now.
            await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
        }
        finally
        {
            context.Request.Body = request;
            context.Response.Body = response;
        }

        if (!sent.Overflowed && !answered.Overflowed && AnsweredBy(context) is { } version && version != shadow.Version)
        {
            shadows.TryOffer(model, shadow.Version, sent.Captured, context.Request.ContentType, context.Request.Headers[InProcessShadowRunner.HeaderLengthHeader].FirstOrDefault(),
                answered.Captured, context.Response.Headers[InProcessShadowRunner.HeaderLengthHeader].FirstOrDefault(), context.Response.StatusCode);
        }
    }

    // The X-Model-Version pin: false when it is not one version number.
    private static bool TryPin(HttpRequest request, out string? pin)
    {
        pin = null;
        if (!request.Headers.TryGetValue(VersionHeader, out var values) || values.Count == 0)
        {
            return true;
        }

        pin = values.Count == 1 && values[0] is { } text && VersionCatalog.TryParseVersion(text, out _) ? text : null;
        return pin is not null;
    }

    // The split's draw; null (the node chooses) for a model without a split.
    private static string? Draw(HttpRequest request, string model, SplitSlots? slots) =>
        slots is null ? null : slots.VersionTexts[slots.At(SlotOf(request, model))];

    // The routing key's fixed slot, so that one key stays on one version while the split holds; a random one without.
    private static int SlotOf(HttpRequest request, string model)
    {
        if (!request.Headers.TryGetValue(RoutingKey.Header, out var key) || string.IsNullOrEmpty(key))
        {
            return Random.Shared.Next(100);
        }

        var hash = XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(model + "\n" + key));
        return (int)(hash % 100);
    }

    // The version named by the answer, else the one chosen or routed to; null when neither names a number.
    private static long? AnsweredBy(HttpContext context)
    {
        var text = context.Response.Headers[VersionHeader].ToString() is { Length: > 0 } answered
            ? answered
            : context.Request.RouteValues["version"] as string;
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version : null;
    }
}
