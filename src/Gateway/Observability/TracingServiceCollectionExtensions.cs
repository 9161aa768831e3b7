using System.Diagnostics;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using ServingGateway.Batching;
using ServingGateway.Hosting;
using ServingGateway.Inference.Serving;

namespace ServingGateway.Observability;

/// <summary>
/// Observability: tracing with OpenTelemetry (when <see cref="TelemetryOptions"/> names an exporter), the trace and
/// log settings, and the request's span (<see cref="UseRequestSpan"/>).
/// </summary>
internal static class TracingServiceCollectionExtensions
{
    /// <summary>The response header naming the trace a recorded request belongs to.</summary>
    public const string TraceIdHeader = "X-Trace-Id";

    // .NET's HttpClient: on an edge, the request to the node (the span whose id the node sees as its parent).
    private const string HttpClientSourceName = "System.Net.Http";

    public static IServiceCollection AddGatewayTracing(this IServiceCollection services, TelemetryOptions options, GatewayRole role)
    {
        var settings = new TraceSettings(options);
        services.AddSingleton(options);
        services.AddSingleton(settings);
        services.AddSingleton<LogLevelSwitch>();
        services.AddSingleton<IOptionsChangeTokenSource<LoggerFilterOptions>>(provider => provider.GetRequiredService<LogLevelSwitch>());
        services.AddSingleton<IPostConfigureOptions<LoggerFilterOptions>>(provider => provider.GetRequiredService<LogLevelSwitch>());
        if (!options.Enabled)
        {
            // No listener: every StartActivity returns null at once, and UseRequestSpan adds nothing.
            return services;
        }

        var roleName = role.ToString().ToLowerInvariant();
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService(options.ServiceName ?? $"servinggateway-{roleName}", serviceVersion: typeof(TracingServiceCollectionExtensions).Assembly.GetName().Version?.ToString())
                .AddAttributes([new KeyValuePair<string, object>("servinggateway.role", roleName)]))
            .WithTracing(tracing =>
            {
                tracing
                    .SetSampler(new TraceSampler(settings))
                    .AddSource(GatewayTelemetry.RequestSourceName, GatewayTelemetry.SourceName, GatewayTelemetry.YarpSourceName, HttpClientSourceName, InferenceTelemetry.SourceName, BatchingTelemetry.SourceName);
                if (options.OtlpTracesUri is { } otlp)
                {
                    tracing.AddOtlpExporter(exporter =>
                    {
                        exporter.Endpoint = otlp;
                        exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                    });
                }

                if (options.Console)
                {
                    tracing.AddConsoleExporter();
                }
            });
        return services;
    }

    /// <summary>
    /// The request's span, the first middleware: started only for a request that is recorded (its caller's
    /// <c>traceparent</c> is sampled, or it starts a new trace that the settings choose), so that a request not recorded
    /// makes no span and carries no current activity (the host's own request activity is not listened to: it would be
    /// made for every request). Named and tagged as OpenTelemetry's HTTP server conventions say
    /// (<c>POST /v2/models/{model}/infer</c>, method, route, path and status code) when its response starts, and that
    /// response carries <see cref="TraceIdHeader"/>; it ends when the response is done. Every other span of the request
    /// is its child. Probes, scrapes and the status page are never recorded.
    /// </summary>
    public static IApplicationBuilder UseRequestSpan(this IApplicationBuilder app)
    {
        var settings = app.ApplicationServices.GetRequiredService<TraceSettings>();
        if (!settings.HasExporter)
        {
            return app;
        }

        return app.Use((context, next) =>
        {
            if (!settings.On || IsScrape(context.Request.Path))
            {
                return next(context);
            }

            var parent = CallerContext(context.Request);
            var recorded = parent.TraceId != default ? (parent.TraceFlags & ActivityTraceFlags.Recorded) != 0 : settings.RecordsNewTrace();
            if (!recorded || TraceSampler.StartRequestSpan(GatewayTelemetry.RequestSource, context.Request.Method, parent) is not { } activity)
            {
                return next(context);
            }

            context.Response.RegisterForDispose(activity);

            // When the response starts the route is chosen and the status set; an edge's header overwrites the node's
            // (the same trace) instead of adding a second.
            context.Response.OnStarting(static state =>
            {
                var (context, activity) = ((HttpContext, Activity))state;
                var request = context.Request;
                var status = context.Response.StatusCode;
                var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
                activity.DisplayName = route is null ? request.Method : $"{request.Method} {route}";
                activity.SetTag("http.request.method", request.Method);
                activity.SetTag("url.path", request.Path.Value);
                activity.SetTag("http.route", route);
                activity.SetTag("http.response.status_code", status);
                if (status >= 500 && activity.Status != ActivityStatusCode.Error)
                {
                    activity.SetStatus(ActivityStatusCode.Error);
                }

                context.Response.Headers[TraceIdHeader] = activity.TraceId.ToHexString();
                return Task.CompletedTask;
            }, (context, activity));
            return next(context);
        });
    }

    // The caller's trace context (W3C traceparent and tracestate, read as .NET's propagator reads them); default when
    // there is none or it does not parse (a new trace then, as the host would have started).
    private static ActivityContext CallerContext(HttpRequest request)
    {
        DistributedContextPropagator.Current.ExtractTraceIdAndState(request.Headers, static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
        {
            values = null;
            var found = ((IHeaderDictionary)carrier!)[name];
            value = found.Count == 0 ? null : found.ToString();
        }, out var traceParent, out var traceState);
        return traceParent is not null && ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var context) ? context : default;
    }

    // Health probes, metric scrapes and the status page's polls: a span each every few seconds would bury the requests
    // worth tracing.
    private static bool IsScrape(PathString path) =>
        path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments("/v2/health", StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments("/status", StringComparison.OrdinalIgnoreCase);
}
