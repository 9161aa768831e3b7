using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Serving;

namespace ServingGateway.Inference.Http;

/// <summary>Triton's model repository extension: the index, and load or unload of a model.</summary>
internal sealed class RepositoryEndpoints(ModelRepository repository, RequestBodyBudget budget)
{
    // A management body is a small JSON object; larger ones are refused with a 413.
    private const int MaxBodyBytes = 64 * 1024;

    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/v2/repository/index", IndexAsync);
        endpoints.MapPost("/v2/repository/models/{model}/load", LoadAsync);
        endpoints.MapPost("/v2/repository/models/{model}/unload", UnloadAsync);
    }

    private async Task IndexAsync(HttpContext context)
    {
        var readyOnly = false;
        using (var body = await PooledBody.ReadAsync(context.Request, MaxBodyBytes, budget, context.RequestAborted))
        {
            if (!body.Span.IsEmpty)
            {
                using var document = ParseObject(body.Span);
                if (document.RootElement.TryGetProperty("ready", out var ready))
                {
                    readyOnly = ready.ValueKind switch
                    {
                        JsonValueKind.True => true,
                        JsonValueKind.False => false,
                        _ => throw InferenceException.BadRequest("\"ready\" must be true or false"),
                    };
                }
            }
        }

        var rows = repository.GetIndex().Where(r => !readyOnly || r.State == "READY").ToList();
        await WriteIndexAsync(context, rows);
    }

    private async Task LoadAsync(HttpContext context)
    {
        var name = (string)context.Request.RouteValues["model"]!;
        var policy = await ReadManagementBodyAsync(context);
        if (policy is null)
        {
            await repository.LoadAsync(name, context.RequestAborted);
        }
        else
        {
            await repository.LoadAsync(name, policy, context.RequestAborted);
        }

        await WriteIndexAsync(context, [.. repository.GetIndex().Where(r => r.Name == name)]);
    }

    private async Task UnloadAsync(HttpContext context)
    {
        var name = (string)context.Request.RouteValues["model"]!;
        if (await ReadManagementBodyAsync(context) is not null)
        {
            throw InferenceException.BadRequest("an unload takes no \"config\" parameter");
        }

        await repository.UnloadAsync(name, context.RequestAborted);
        await WriteIndexAsync(context, [.. repository.GetIndex().Where(r => r.Name == name)]);
    }

    // Triton's optional {"parameters": {...}}: accepted when well-formed. Returns the version_policy of a "config"
    // override (the only override accepted), else null.
    private async Task<VersionPolicy?> ReadManagementBodyAsync(HttpContext context)
    {
        using var body = await PooledBody.ReadAsync(context.Request, MaxBodyBytes, budget, context.RequestAborted);
        if (body.Span.IsEmpty)
        {
            return null;
        }

        using var document = ParseObject(body.Span);
        if (!document.RootElement.TryGetProperty("parameters", out var parameters) || parameters.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        CheckLoadParameters(parameters.EnumerateObject().Select(p => p.Name));
        return parameters.TryGetProperty("config", out var config)
            ? ReadVersionPolicyOverride(config.ValueKind == JsonValueKind.String ? config.GetString() : null)
            : null;
    }

    /// <summary>Refuses Triton's load parameters that override a version's files (<c>file:...</c>).</summary>
    /// <exception cref="InferenceException">400 when one is named.</exception>
    internal static void CheckLoadParameters(IEnumerable<string> names)
    {
        if (names.Any(n => n.StartsWith("file:", StringComparison.Ordinal)))
        {
            throw InferenceException.BadRequest("load parameter \"file:\" overrides are not supported; change the files in the model repository");
        }
    }

    /// <summary>
    /// The versions a load's <c>"config"</c> parameter names: a JSON object in a string (<paramref name="configJson"/>;
    /// null when the parameter is not a string) holding only <c>version_policy</c>, served until the next override or
    /// unload; every other field is refused.
    /// </summary>
    /// <exception cref="InferenceException">400 for anything else.</exception>
    internal static VersionPolicy ReadVersionPolicyOverride(string? configJson)
    {
        const string Only = "load parameter \"config\" overrides other than \"version_policy\" are not supported: send "
            + "{\"version_policy\": {\"specific\": {\"versions\": [1, 2]}}} as a JSON string, and change other fields in the model repository";
        if (configJson is null)
        {
            throw InferenceException.BadRequest(Only);
        }

        using var document = ParseObject(System.Text.Encoding.UTF8.GetBytes(configJson));
        var fields = document.RootElement.EnumerateObject().ToList();
        if (fields.Count != 1 || fields[0].Name != "version_policy")
        {
            throw InferenceException.BadRequest(Only);
        }

        var errors = new List<string>();
        return ModelConfigReader.ReadPolicy(fields[0].Value, errors)
            ?? throw InferenceException.BadRequest(string.Join("; ", errors));
    }

    private static JsonDocument ParseObject(ReadOnlySpan<byte> json)
    {
        JsonUtf8.EnsureValid(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = InferRequestReader.MaxJsonDepth });
        }
        catch (JsonException ex)
        {
            throw InferenceException.BadRequest($"malformed JSON: {ex.Message}");
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw InferenceException.BadRequest("the request body must be a JSON object");
        }

        return document;
    }

    private static Task WriteIndexAsync(HttpContext context, List<RepositoryIndexEntry> rows) =>
        JsonResponses.WriteArrayAsync(context, w =>
        {
            foreach (var row in rows)
            {
                w.WriteStartObject();
                w.WriteString("name"u8, row.Name);
                if (row.Version is not null)
                {
                    w.WriteString("version"u8, row.Version);
                }

                w.WriteString("state"u8, row.State);
                w.WriteString("reason"u8, row.Reason);
                if (row.Resident is { } resident)
                {
                    w.WriteBoolean("resident"u8, resident);
                }
                w.WriteEndObject();
            }
        });
}
