namespace ServingGateway.Deployments.Fleet;

/// <summary>
/// A version as the nodes store it: its digest when every node holding it agrees (null when they differ or none could
/// compute one), its state when every holder reports the same (else <see cref="Mixed"/>), the nodes holding it and
/// those without it (by URL), and the conflict's description when holders' digests differ.
/// </summary>
internal sealed record FleetVersion(long Version, string? Digest, string State, IReadOnlyList<string> Nodes, IReadOnlyList<string> Missing, string? Conflict)
{
    /// <summary>The state of a version whose holders report different states (each node's is in the per-node detail).</summary>
    public const string Mixed = "MIXED";
}
