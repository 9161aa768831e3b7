
namespace ServingGateway.Routing;

/// <summary>
/// What a request is routed by: the model it names, plus the optional X-Routing-Key header (a client can
/// spread one model's traffic over several keys, or keep a session together).
/// </summary>
internal static class RoutingKey
{
    /// <summary>The request header that refines the key.</summary>
    public const string Header = "X-Routing-Key";

    /// <summary>The key of <paramref name="request"/>: "model" or "model\nkey"; the path when it names no model.</summary>
    public static string Of(HttpRequest request)
    {
        var model = ModelName(request.Path) ?? request.Path.Value ?? "";
        return request.Headers.TryGetValue(Header, out var extra) && !string.IsNullOrEmpty(extra)
            ? model + "\n" + extra
            : model;
    }

    /// <summary>The model of an OIP path (/v2/models/{m}/..., /v2/repository/models/{m}/...), or null.</summary>
    public static string? ModelName(PathString path)
    {
        var value = path.Value;
        if (value is null)
        {
            return null;
        }

        var rest = value.StartsWith("/v2/models/", StringComparison.Ordinal) ? value.AsSpan("/v2/models/".Length)
            : value.StartsWith("/v2/repository/models/", StringComparison.Ordinal) ? value.AsSpan("/v2/repository/models/".Length)
            : default;
        if (rest.IsEmpty)
        {
            return null;
        }

        var end = rest.IndexOf('/');
        var name = end < 0 ? rest : rest[..end];
        return name.IsEmpty || name.SequenceEqual("stats") ? null : name.ToString();
    }
}
