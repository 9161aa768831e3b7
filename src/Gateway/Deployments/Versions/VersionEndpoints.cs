using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using ServingGateway.Auth;
using ServingGateway.Inference;
using ServingGateway.Inference.Common;

namespace ServingGateway.Deployments.Versions;

/// <summary>
/// <c>PUT /admin/models/{model}/versions/{version}</c> (store a version: <see cref="VersionStore"/>) and
/// <c>GET /admin/models</c> (every model and version on disk with digest and state, the live traffic split and the
/// rollout), both for the deploy role. Every call is audited; an upload's line carries version, digest, size and
/// result in its <c>details</c>.
/// </summary>
internal static class VersionEndpoints
{
    /// <summary>The upload route.</summary>
    public const string UploadRoute = "/admin/models/{model}/versions/{version}";

    /// <summary>The listing route.</summary>
    public const string ListRoute = "/admin/models";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions RolloutOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Maps both endpoints, requiring the deploy role.</summary>
    public static IEndpointRouteBuilder MapVersionEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPut(UploadRoute, UploadAsync).RequireRole(GatewayRoles.Deploy);
        endpoints.MapGet(ListRoute, ListAsync).RequireRole(GatewayRoles.Deploy);
        return endpoints;
    }

    private static async Task UploadAsync(HttpContext context, string model, string version)
    {
        var store = context.RequestServices.GetRequiredService<VersionStore>();
        var options = context.RequestServices.GetRequiredService<IOptionsMonitor<VersionUploadOptions>>().CurrentValue;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            // The store counts the body against Deployments:MaxUploadMb itself (a clean 413); the server's limit,
            // sized for infer requests, is lifted to just past it so the store's count is the one that answers.
            limit.MaxRequestBodySize = options.MaxUploadBytes + (1 << 20);
        }

        var receipt = new UploadReceipt();
        try
        {
            var stored = await store.StoreAsync(model, version, context.Request.ContentType, context.Request.ContentLength,
                context.Request.Body, receipt, context.RequestAborted);
            await WriteJsonAsync(context, stored.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK, writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("model"u8, stored.Model);
                writer.WriteString("version"u8, stored.Version);
                writer.WriteString("digest"u8, stored.Digest);
                writer.WriteEndObject();
            });
        }
        catch (UploadRefusedException ex)
        {
            await ErrorResponse.WriteAsync(context, ex.StatusCode, ex.Message);
        }
        catch (BadHttpRequestException ex)
        {
            receipt.Result = ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? "too_large" : "invalid";
            await ErrorResponse.WriteAsync(context, ex.StatusCode, ex.Message);
        }
        finally
        {
            AuditDetails.Add(context, "version", version);
            AuditDetails.Add(context, "digest", receipt.Digest);
            AuditDetails.Add(context, "bytes", receipt.Bytes);
            AuditDetails.Add(context, "result", receipt.Result);
        }
    }

    private static Task ListAsync(HttpContext context)
    {
        var catalog = context.RequestServices.GetRequiredService<VersionCatalog>();
        var splits = context.RequestServices.GetService<ITrafficSplits>();
        var rollouts = context.RequestServices.GetService<IRolloutStatusSource>();
        var models = catalog.List();
        return WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("models"u8);
            foreach (var model in models)
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, model.Name);
                writer.WriteString("reason"u8, model.Reason);
                writer.WriteStartArray("versions"u8);
                foreach (var version in model.Versions)
                {
                    writer.WriteStartObject();
                    writer.WriteString("version"u8, version.Version.ToString(CultureInfo.InvariantCulture));
                    writer.WriteString("digest"u8, version.Digest);
                    writer.WriteString("state"u8, version.State);
                    writer.WriteString("reason"u8, version.Reason);
                    writer.WriteBoolean("resident"u8, version.Resident);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WritePropertyName("traffic_split"u8);
                WriteSplit(writer, splits?.Get(model.Name));
                writer.WritePropertyName("rollout"u8);
                if (rollouts?.Current(model.Name) is { } rollout)
                {
                    JsonSerializer.Serialize(writer, rollout, rollout.GetType(), RolloutOptions);
                }
                else
                {
                    writer.WriteNullValue();
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    private static void WriteSplit(Utf8JsonWriter writer, TrafficSplit? split)
    {
        if (split is null)
        {
            writer.WriteNullValue();
            return;
        }

        writer.WriteStartObject();
        writer.WriteStartArray("shares"u8);
        foreach (var share in split.Shares)
        {
            writer.WriteStartObject();
            writer.WriteString("version"u8, share.Version.ToString(CultureInfo.InvariantCulture));
            writer.WriteNumber("percent"u8, share.Percent);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WritePropertyName("shadow"u8);
        if (split.Shadow is { } shadow)
        {
            writer.WriteStartObject();
            writer.WriteString("version"u8, shadow.Version.ToString(CultureInfo.InvariantCulture));
            writer.WriteNumber("sample_ratio"u8, shadow.SampleRatio);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNullValue();
        }

        writer.WriteEndObject();
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions))
        {
            write(writer);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = stream.Length;
        await context.Response.Body.WriteAsync(stream.GetBuffer().AsMemory(0, (int)stream.Length), context.RequestAborted);
    }
}
