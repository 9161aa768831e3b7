using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ServingGateway.Deployments.Fleet;

/// <summary>
/// <see cref="IVersionFleet"/> on an edge: every node, through the repository extension. Serving a set of versions is
/// Triton's load with a config override that holds only <c>version_policy: specific</c>; the versions ready are those
/// every node's repository index lists as READY. Before a load, nodes that lack one of the versions get it copied from
/// a node that has it (<see cref="VersionCatchUp"/>); a version stored with different digests is never loaded.
/// </summary>
internal sealed class EdgeVersionFleet(NodeFanOut nodes, VersionCatchUp catchUp) : IVersionFleet
{
    public async Task ServeAsync(string model, IReadOnlyList<long> versions, CancellationToken cancellationToken)
    {
        var caught = await catchUp.CatchUpAsync(model, versions, cancellationToken).ConfigureAwait(false);
        if (versions.Select(v => caught.Fleet.Describe(model, v).Conflict).OfType<string>().ToList() is { Count: > 0 } conflicts)
        {
            throw new DeploymentException(StatusCodes.Status409Conflict, string.Join("; ", conflicts));
        }

        if (caught.Failures.Count > 0)
        {
            throw new DeploymentException(StatusCodes.Status502BadGateway, string.Join("; ", caught.Failures));
        }

        var calls = await nodes.SendAsync(HttpMethod.Post, $"/v2/repository/models/{Uri.EscapeDataString(model)}/load", LoadBody(versions), "application/json", cancellationToken).ConfigureAwait(false);
        Check(calls, $"loading '{model}' versions {string.Join(", ", versions)}");
    }

    /// <summary>
    /// The versions any node stores, by the catch-up's last reading of the nodes' listings (a node that lacks one gets
    /// it copied before a load); null when there is no reading since the last upload through this edge.
    /// </summary>
    public IReadOnlyList<long>? Stored(string model) => catchUp.Latest?.Stored(model);

    public async Task<IReadOnlyList<long>> ReadyAsync(string model, CancellationToken cancellationToken)
    {
        var calls = await nodes.SendAsync(HttpMethod.Post, "/v2/repository/index", "{\"ready\":true}"u8.ToArray(), "application/json", cancellationToken).ConfigureAwait(false);
        Check(calls, "reading the repository index");
        IEnumerable<long>? ready = null;
        foreach (var call in calls)
        {
            var onNode = ReadyVersions(call, model);
            ready = ready is null ? onNode : ready.Intersect(onNode);
        }

        return [.. (ready ?? []).OrderDescending()];
    }

    /// <summary>The load body that makes a node serve exactly <paramref name="versions"/>.</summary>
    public static byte[] LoadBody(IReadOnlyList<long> versions)
    {
        var config = JsonSerializer.Serialize(new { version_policy = new { specific = new { versions } } });
        return Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { parameters = new { config } }));
    }

    private static void Check(IReadOnlyList<NodeCall> calls, string what)
    {
        if (calls.Count == 0)
        {
            throw new DeploymentException(StatusCodes.Status503ServiceUnavailable, $"{what}: no node is configured or discovered");
        }

        var failed = calls.Where(c => !c.Succeeded).ToList();
        if (failed.Count > 0)
        {
            var status = failed.All(c => c.Status == StatusCodes.Status400BadRequest) ? StatusCodes.Status400BadRequest : StatusCodes.Status502BadGateway;
            throw new DeploymentException(status, $"{what} failed on {failed.Count} of {calls.Count} nodes: {string.Join("; ", failed.Select(c => c.Describe()))}");
        }
    }

    // The READY versions of <model> in one node's repository index ([{"name", "version", "state"}, ...]).
    private static List<long> ReadyVersions(NodeCall call, string model)
    {
        try
        {
            using var index = JsonDocument.Parse(call.Body);
            return [.. index.RootElement.EnumerateArray()
                .Where(row => row.TryGetProperty("name", out var name) && name.GetString() == model
                    && row.TryGetProperty("state", out var state) && state.GetString() == "READY"
                    && row.TryGetProperty("version", out _))
                .Select(row => long.Parse(row.GetProperty("version").GetString()!, NumberStyles.None, CultureInfo.InvariantCulture))];
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or OverflowException)
        {
            throw new DeploymentException(StatusCodes.Status502BadGateway, $"{call.Node} answered its repository index with something other than Triton's index: {ex.Message}");
        }
    }
}
