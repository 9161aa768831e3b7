namespace ServingGateway.Inference.Catalog;

/// <summary>
/// Which versions of a model are served, as in Triton's version_policy: the latest N (default 1),
/// all, or a specific list.
/// </summary>
internal sealed class VersionPolicy
{
    private VersionPolicy(int latest, long[]? specific)
    {
        Latest = latest;
        Specific = specific;
    }

    /// <summary>Serve the highest version only (Triton's default).</summary>
    public static VersionPolicy Default { get; } = new(1, null);

    /// <summary>Serve every version found.</summary>
    public static VersionPolicy All { get; } = new(int.MaxValue, null);

    /// <summary>The number of highest versions served; meaningless when <see cref="Specific"/> is set.</summary>
    public int Latest { get; }

    /// <summary>The versions served, when the policy names them.</summary>
    public long[]? Specific { get; }

    public static VersionPolicy LatestN(int n) => new(n, null);

    public static VersionPolicy Of(long[] versions) => new(0, versions);

    /// <summary>The versions to serve from those on disk, highest first; named versions that are missing are listed too.</summary>
    public long[] Select(IReadOnlyCollection<long> onDisk) =>
        Specific is { } specific
            ? [.. specific.Distinct().OrderDescending()]
            : [.. onDisk.OrderDescending().Take(Latest)];

    public override string ToString() =>
        Specific is { } s ? $"specific [{string.Join(", ", s)}]" : Latest == int.MaxValue ? "all" : $"latest {Latest}";
}
