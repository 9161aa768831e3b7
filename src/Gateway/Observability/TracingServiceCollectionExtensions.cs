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
/// log settings, and the <see cref="TraceIdHeader"/> on every recorded request's response.
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
                    .AddSource(GatewayTelemetry.SourceName, GatewayTelemetry.YarpSourceName, HttpClientSourceName, InferenceTelemetry.SourceName, BatchingTelemetry.SourceName)
                    .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = static context => !IsScrape(context.Request.Path));
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

    /// <summary>Adds <see cref="TraceIdHeader"/> to the response of every request whose span is recorded.</summary>
    public static IApplicationBuilder UseTraceIdHeader(this IApplicationBuilder app) => app.Use(static (context, next) =>
    {
        if (Activity.Current is { Recorded: true } activity)
        {
            // Set when the response starts: an edge's copy overwrites the node's (the same trace) instead of adding a second.
            context.Response.OnStarting(static state =>
            {
                var (response, traceId) = ((HttpResponse, string))state;
                response.Headers[TraceIdHeader] = traceId;
                return Task.CompletedTask;
            }, (context.Response, activity.TraceId.ToHexString()));
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
