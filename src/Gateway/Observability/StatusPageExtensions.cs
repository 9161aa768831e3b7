using System.Buffers;
using System.Text.Json;
using ServingGateway.Auth;
using ServingGateway.Hosting;
using ServingGateway.Inference;

namespace ServingGateway.Observability;

/// <summary>
/// The live status page (docs/OPERATIONS.md): <c>GET /status</c> (HTML), its script and style, and
/// <c>GET /status/data</c> (JSON, docs/API.md) that the script reads every few seconds. Everything is served from
/// resources in this assembly: no build step, no external CDN. Who may read them is decided as for <c>/metrics</c>
/// (<see cref="MetricsEndpointMetadata"/>: <c>Auth:MetricsRole</c>; public on loopback listeners).
/// </summary>
internal static class StatusPageExtensions
{
    private static readonly Asset Page = Asset.Load("status.html", "text/html; charset=utf-8");
    private static readonly Asset Script = Asset.Load("status.js", "text/javascript; charset=utf-8");
    private static readonly Asset Style = Asset.Load("status.css", "text/css; charset=utf-8");

    /// <summary>The history and its sampling loop where a node runs (standalone, node); the node health reader on an edge.</summary>
    public static IServiceCollection AddStatusPage(this IServiceCollection services, GatewayRole role)
    {
        if (role == GatewayRole.Edge)
        {
            services.AddSingleton<EdgeNodesReader>();
        }
        else
        {
            services.AddSingleton(sp => new StatusHistory(sp.GetRequiredService<NodeReadings>().Read, sp.GetRequiredService<TimeProvider>()));
            services.AddHostedService<StatusSampler>();
        }

        return services;
    }

    /// <summary>Maps the page, its assets and its data, each needing what <c>/metrics</c> needs.</summary>
    public static IEndpointRouteBuilder MapStatusPage(this IEndpointRouteBuilder endpoints, GatewayRole role)
    {
        var name = role.ToString().ToLowerInvariant();
        endpoints.MapGet("/status", context => Page.WriteAsync(context)).WithMetadata(MetricsEndpointMetadata.Instance);
        endpoints.MapGet("/status/status.js", context => Script.WriteAsync(context)).WithMetadata(MetricsEndpointMetadata.Instance);
        endpoints.MapGet("/status/status.css", context => Style.WriteAsync(context)).WithMetadata(MetricsEndpointMetadata.Instance);
        endpoints.MapGet("/status/data", context =>
        {
            var services = context.RequestServices;
            var models = services.GetService<StatusHistory>()?.Current();
            var nodes = services.GetService<EdgeNodesReader>()?.Read();
            var traffic = services.GetService<Deployments.DeploymentsStatus>();
            var buffer = new ArrayBufferWriter<byte>(4096);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                StatusJson.Write(writer, name, services.GetRequiredService<TimeProvider>().GetUtcNow(), models, nodes, traffic is null ? null : traffic.WriteTraffic);
            }

            context.Response.ContentType = "application/json";
            context.Response.Headers.CacheControl = "no-store";
            context.Response.ContentLength = buffer.WrittenCount;
            return context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).AsTask();
        }).WithMetadata(MetricsEndpointMetadata.Instance);
        return endpoints;
    }

    // A file of the page, read once from this assembly's resources.
    private sealed class Asset(byte[] content, string contentType)
    {
        public static Asset Load(string file, string contentType)
        {
            var name = "ServingGateway.Observability." + file;
            using var stream = typeof(StatusPageExtensions).Assembly.GetManifestResourceStream(name)
                ?? throw new InvalidOperationException($"resource {name} is missing from the build");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return new Asset(copy.ToArray(), contentType);
        }

        public Task WriteAsync(HttpContext context)
        {
            var response = context.Response;
            response.ContentType = contentType;
            response.ContentLength = content.Length;
            response.Headers.CacheControl = "no-cache";
            response.Headers.XContentTypeOptions = "nosniff";

            // Everything the page uses comes from this server; nothing inline runs.
            response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";
            return response.Body.WriteAsync(content, context.RequestAborted).AsTask();
        }
    }
}
