using System.Globalization;

namespace ServingGateway.Deployments.Fleet;

/// <summary>
/// What the nodes store, compared (pure: built from their listings): per model and version, the nodes that hold it
/// and with which digest. A version every holder stores with one digest is <em>agreed</em>, and a node without it gets
/// a copy (<see cref="Copies"/>) from the first holder by URL; one stored with different digests is a
/// <em>conflict</em>, never copied (which bytes are right is for an engineer to say), and named wherever it shows.
/// A digest a node could not compute (null) neither agrees nor conflicts, and that node is no source.
/// </summary>
internal sealed class FleetVersions
{
    private readonly IReadOnlyList<NodeListing> _listings;

    public FleetVersions(IReadOnlyList<NodeListing> listings)
    {
        _listings = [.. listings.OrderBy(l => l.Node, StringComparer.Ordinal)];
    }

    /// <summary>The nodes compared (those that answered), by URL.</summary>
    public IReadOnlyList<string> Nodes => [.. _listings.Select(l => l.Node)];

    /// <summary>The listings compared, by node URL.</summary>
    public IReadOnlyList<NodeListing> Listings => _listings;

    /// <summary>Every model any node stores, by name.</summary>
    public IReadOnlyList<string> Models =>
        [.. _listings.SelectMany(l => l.Models.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>The versions of <paramref name="model"/> stored on any node, highest first (empty for a model none has).</summary>
    public IReadOnlyList<long> Stored(string model) =>
        [.. _listings.SelectMany(l => l.Models.TryGetValue(model, out var versions) ? versions.Keys : []).Distinct().OrderDescending()];

    /// <summary>Each version of <paramref name="model"/> any node stores, lowest first, with where and how.</summary>
    public IReadOnlyList<FleetVersion> Versions(string model) =>
        [.. Stored(model).Order().Select(version => Describe(model, version))];

    /// <summary>How <paramref name="version"/> of <paramref name="model"/> is stored across the nodes.</summary>
    public FleetVersion Describe(string model, long version)
    {
        var holders = new List<(string Node, string? Digest, string State)>();
        var missing = new List<string>();
        foreach (var listing in _listings)
        {
            if (listing.Models.TryGetValue(model, out var versions) && versions.TryGetValue(version, out var stored))
            {
                holders.Add((listing.Node, stored.Digest, stored.State));
            }
            else
            {
                missing.Add(listing.Node);
            }
        }

        var digests = holders.Select(h => h.Digest).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var states = holders.Select(h => h.State).Distinct(StringComparer.Ordinal).ToList();
        string? conflict = digests.Count > 1
            ? string.Create(CultureInfo.InvariantCulture,
                $"model '{model}' version {version} is stored with different digests: {string.Join(", ", holders.Where(h => h.Digest is not null).Select(h => $"{h.Node} {h.Digest}"))}; it is never copied between nodes: remove the wrong folder (or upload a new version number)")
            : null;
        return new FleetVersion(
            version,
            digests is [var digest] ? digest : null,
            states is [var state] ? state : FleetVersion.Mixed,
            [.. holders.Select(h => h.Node)],
            missing,
            conflict);
    }

    /// <summary>
    /// The copies that bring every node up to the others for <paramref name="model"/> (null: every model), only of
    /// <paramref name="versions"/> when given: each agreed version to each node without it, from the first node by
    /// URL that holds it with the agreed digest.
    /// </summary>
    public IReadOnlyList<VersionCopy> Copies(string? model = null, IReadOnlyCollection<long>? versions = null)
    {
        var copies = new List<VersionCopy>();
        foreach (var name in model is null ? Models : [model])
        {
            foreach (var version in Versions(name).Where(v => versions is null || versions.Contains(v.Version)))
            {
                if (version.Digest is not { } digest || version.Conflict is not null || version.Missing.Count == 0)
                {
                    continue;
                }

                var source = version.Nodes.First(node => Find(node, name, version.Version)?.Digest == digest);
                copies.AddRange(version.Missing.Select(target => new VersionCopy(name, version.Version, digest, source, target)));
            }
        }

        return copies;
    }

    private NodeListing.StoredOnNode? Find(string node, string model, long version) =>
        _listings.First(l => l.Node == node).Models.TryGetValue(model, out var versions) && versions.TryGetValue(version, out var stored) ? stored : null;
}
