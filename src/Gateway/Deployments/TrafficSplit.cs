namespace ServingGateway.Deployments;

/// <summary>
/// One model's live traffic split (issue 13): the percent of its unpinned infer requests each version gets (the
/// shares sum to 100), and an optional shadow version that a sample of requests is mirrored to (its answers are
/// compared, never returned).
/// </summary>
internal sealed record TrafficSplit(IReadOnlyList<VersionShare> Shares, ShadowMirror? Shadow = null)
{
    /// <summary>All traffic to one version.</summary>
    public static TrafficSplit All(long version) => new([new VersionShare(version, 100)]);
}

/// <summary>A version's share of a model's traffic, in percent (0-100).</summary>
internal readonly record struct VersionShare(long Version, int Percent);

/// <summary>The version a sample (<paramref name="SampleRatio"/>, 0-1) of the model's requests is mirrored to.</summary>
internal sealed record ShadowMirror(long Version, double SampleRatio);
