using System.Formats.Tar;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using ServingGateway.Auth;
using ServingGateway.Deployments.Fleet;
using ServingGateway.Hosting;
using ServingGateway.Inference;
using ServingGateway.Inference.Common;

namespace ServingGateway.Deployments.Versions;

/// <summary>
/// <c>PUT /admin/models/{model}/versions/{version}</c> (store a version: <see cref="IVersionUploads"/>) and
/// <c>GET /admin/models</c> (every model and version on disk with digest and state, the live traffic split and the
/// rollout; on an edge, every node's), both for the deploy role (on a node: the node key). Every call is audited; an upload's line carries version, digest, size and
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

    /// <summary>A node's archive of one stored version, for an edge's catch-up of another node.</summary>
    public const string ArchiveRoute = "/admin/models/{model}/versions/{version}/archive";

    /// <summary>Maps both endpoints, requiring the deploy role (on a node, the node key), and on a node the archive endpoint.</summary>
    public static IEndpointRouteBuilder MapVersionEndpoints(this IEndpointRouteBuilder endpoints, GatewayRole role)
    {
        endpoints.MapPut(UploadRoute, UploadAsync).RequireRole(GatewayRoles.Deploy);
        endpoints.MapGet(ListRoute, ListAsync).RequireRole(GatewayRoles.Deploy);
        if (role == GatewayRole.Node)
        {
            endpoints.MapGet(ArchiveRoute, ArchiveAsync).RequireRole(GatewayRoles.Deploy);
        }

        return endpoints;
    }

    private static async Task UploadAsync(HttpContext context, string model, string version)
    {
        var uploads = context.RequestServices.GetRequiredService<IVersionUploads>();
        var options = context.RequestServices.GetRequiredService<IOptionsMonitor<VersionUploadOptions>>().CurrentValue;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            // The upload counts the body against Deployments:MaxUploadMb itself (a clean 413); the server's limit,
            // sized for infer requests, is lifted to just past it so that count is the one that answers.
            limit.MaxRequestBodySize = options.MaxUploadBytes + (1 << 20);
        }

        var receipt = new UploadReceipt();
        try
        {
            var request = UploadRequest.Parse(model, version, context.Request.ContentType, context.Request.ContentLength, options, receipt);
            var stored = await uploads.StoreAsync(request, context.Request.Body, receipt, context.RequestAborted);
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

    private static async Task ListAsync(HttpContext context)
    {
        var splits = context.RequestServices.GetService<ITrafficSplits>();
        var rollouts = context.RequestServices.GetService<IRolloutStatusSource>();
        if (context.RequestServices.GetService<VersionCatchUp>() is { } nodes)
        {
            await ListNodesAsync(context, nodes, splits, rollouts);
            return;
        }

        var models = context.RequestServices.GetRequiredService<VersionCatalog>().List();
        await WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
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
                WriteDeployment(writer, model.Name, splits, rollouts);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    // An edge's listing: each model any node stores, its versions compared across the nodes (digest when they agree,
    // state, which nodes hold it and which lack it, the conflict when digests differ), each node's own entry, and the
    // edge's split and rollout; nodes that did not answer under "unreachable".
    private static async Task ListNodesAsync(HttpContext context, VersionCatchUp nodes, ITrafficSplits? splits, IRolloutStatusSource? rollouts)
    {
        var (fleet, unreachable) = await nodes.ListAsync(context.RequestAborted);
        await WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("models"u8);
            foreach (var name in fleet.Models)
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, name);
                writer.WriteStartArray("versions"u8);
                foreach (var version in fleet.Versions(name))
                {
                    writer.WriteStartObject();
                    writer.WriteString("version"u8, version.Version.ToString(CultureInfo.InvariantCulture));
                    writer.WriteString("digest"u8, version.Digest);
                    writer.WriteString("state"u8, version.State);
                    WriteStrings(writer, "stored_on"u8, version.Nodes);
                    WriteStrings(writer, "missing_on"u8, version.Missing);
                    writer.WriteString("conflict"u8, version.Conflict);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteStartArray("nodes"u8);
                foreach (var listing in fleet.Listings)
                {
                    if (listing.Json.TryGetValue(name, out var model))
                    {
                        writer.WriteStartObject();
                        writer.WriteString("node"u8, listing.Node);
                        writer.WritePropertyName("reason"u8);
                        model.GetProperty("reason").WriteTo(writer);
                        writer.WritePropertyName("versions"u8);
                        model.GetProperty("versions").WriteTo(writer);
                        writer.WriteEndObject();
                    }
                }

                writer.WriteEndArray();
                WriteDeployment(writer, name, splits, rollouts);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("unreachable"u8);
            foreach (var (node, error) in unreachable)
            {
                writer.WriteStartObject();
                writer.WriteString("node"u8, node);
                writer.WriteString("error"u8, error);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    private static void WriteStrings(Utf8JsonWriter writer, ReadOnlySpan<byte> name, IEnumerable<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }

    // A node's version folder as a tar (the model's config files at its root, as an upload carries them), streamed:
    // what an edge copies to a node that lacks the version. Versions are immutable, so the folder cannot change under it.
    private static async Task ArchiveAsync(HttpContext context, string model, string version)
    {
        if (!VersionCatalog.IsValidModelName(model) || !VersionCatalog.TryParseVersion(version, out _))
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, $"'{UploadRefusedException.Echo(model)}' version '{UploadRefusedException.Echo(version)}' is not a model name and version");
            return;
        }

        var modelDirectory = Path.Combine(context.RequestServices.GetRequiredService<VersionCatalog>().Root, model);
        var versionDirectory = Path.Combine(modelDirectory, version);
        if (!Directory.Exists(versionDirectory))
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, $"model '{model}' has no version {version} on this node");
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/x-tar";
        await using var tar = new TarWriter(context.Response.Body, TarEntryFormat.Pax, leaveOpen: true);
        foreach (var config in VersionCatalog.ConfigFileNames.Select(n => Path.Combine(modelDirectory, n)).Where(File.Exists))
        {
            await tar.WriteEntryAsync(config, Path.GetFileName(config), context.RequestAborted);
        }

        foreach (var file in Directory.GetFiles(versionDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            await tar.WriteEntryAsync(file, Path.GetRelativePath(versionDirectory, file).Replace(Path.DirectorySeparatorChar, '/'), context.RequestAborted);
        }
    }

    private static void WriteDeployment(Utf8JsonWriter writer, string model, ITrafficSplits? splits, IRolloutStatusSource? rollouts)
    {
        writer.WritePropertyName("traffic_split"u8);
        WriteSplit(writer, splits?.Get(model));
        writer.WritePropertyName("rollout"u8);
        if (rollouts?.Current(model) is { } rollout)
        {
            JsonSerializer.Serialize(writer, rollout, rollout.GetType(), RolloutOptions);
        }
        else
        {
            writer.WriteNullValue();
        }
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
