namespace ServingGateway.Deployments.Fleet;

/// <summary>A catch-up pass: the nodes' stores after it, the nodes that did not answer, and each copy that failed (why).</summary>
internal sealed record CatchUpResult(FleetVersions Fleet, IReadOnlyList<(string Node, string Error)> Unreachable, IReadOnlyList<string> Failures)
{
    /// <summary>Every version stored with different digests, described.</summary>
    public IEnumerable<string> Conflicts() =>
        Fleet.Models.SelectMany(Fleet.Versions).Select(v => v.Conflict).OfType<string>();
}
