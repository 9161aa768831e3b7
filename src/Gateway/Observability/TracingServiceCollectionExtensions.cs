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

    // ASP.NET Core's request span, started by the host for every request it serves (continuing a client's traceparent);
    // UseRequestSpan names and tags it.
    private const string HostingSourceName = "Microsoft.AspNetCore";

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
            // No listener: every StartActivity returns null at once, and ASP.NET Core starts no request activity.
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
                    .AddSource(HostingSourceName, GatewayTelemetry.SourceName, GatewayTelemetry.YarpSourceName, HttpClientSourceName, InferenceTelemetry.SourceName, BatchingTelemetry.SourceName);
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
    /// The request's span (ASP.NET Core's): a scrape's is not recorded; a recorded one is named and tagged as
    /// OpenTelemetry's HTTP server conventions say (<c>POST /v2/models/{model}/infer</c>, method, route, path and
    /// status code) when its response starts, and that response carries <see cref="TraceIdHeader"/>. The first
    /// middleware: every other span of the request is its child.
    /// </summary>
    public static IApplicationBuilder UseRequestSpan(this IApplicationBuilder app) => app.Use(static (context, next) =>
    {
        if (Activity.Current is { Recorded: true } activity && activity.Source.Name == HostingSourceName)
        {
            if (IsScrape(context.Request.Path))
            {
                activity.IsAllDataRequested = false;
                activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
                return next(context);
            }

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
        }

        return next(context);
    });

    // Health probes, metric scrapes and the status page's polls: a span each every few seconds would bury the requests
    // worth tracing.
    private static bool IsScrape(PathString path) =>
        path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments("/v2/health", StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments("/status", StringComparison.OrdinalIgnoreCase);
}
