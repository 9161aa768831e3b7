using System.Globalization;
using System.Text.Json;

namespace ServingGateway.Deployments.Fleet;

/// <summary>
/// One node's <c>GET /admin/models</c> as an edge reads it: per model, the version folders the node stores with their
/// digest (null when the node could not read the folder) and state; <see cref="Json"/> is the node's own entry for
/// each model, written through unchanged as the edge listing's per-node detail.
/// </summary>
internal sealed record NodeListing(string Node, IReadOnlyDictionary<string, IReadOnlyDictionary<long, NodeListing.StoredOnNode>> Models, IReadOnlyDictionary<string, JsonElement> Json)
{
    /// <summary>A version folder on a node.</summary>
    internal sealed record StoredOnNode(string? Digest, string State);

    /// <summary>Reads <paramref name="body"/>, a node's listing (<c>{"models": [{"name", "versions": [{"version", "digest", "state"}]}]}</c>).</summary>
    /// <exception cref="FormatException">The body is not such a listing.</exception>
    public static NodeListing Parse(string node, string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var models = new Dictionary<string, IReadOnlyDictionary<long, StoredOnNode>>(StringComparer.Ordinal);
            var json = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var model in document.RootElement.GetProperty("models").EnumerateArray())
            {
                var name = model.GetProperty("name").GetString() ?? throw new FormatException("a model without a name");
                var versions = new Dictionary<long, StoredOnNode>();
                foreach (var version in model.GetProperty("versions").EnumerateArray())
                {
                    var number = long.Parse(version.GetProperty("version").GetString()!, NumberStyles.None, CultureInfo.InvariantCulture);
                    versions[number] = new StoredOnNode(version.GetProperty("digest").GetString(), version.GetProperty("state").GetString() ?? "");
                }

                models[name] = versions;
                json[name] = model.Clone();
            }

            return new NodeListing(node, models, json);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or ArgumentNullException or OverflowException)
        {
            throw new FormatException($"{node} answered /admin/models with something other than a model listing: {ex.Message}", ex);
        }
    }
}
