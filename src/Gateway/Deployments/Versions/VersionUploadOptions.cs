namespace ServingGateway.Deployments.Versions;

/// <summary>
/// Version uploads (<c>PUT /admin/models/{m}/versions/{v}</c>), bound from the configuration section
/// <c>Deployments</c>; checked at start with every error listed, and again on each reload (an invalid reload is
/// refused and the last good values stay).
/// </summary>
public sealed class VersionUploadOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Deployments";

    /// <summary>The largest upload body in MiB (the model file, or the archive as sent); larger is 413. Default 1024; 1 to 1048576.</summary>
    public int MaxUploadMb { get; set; } = 1024;

    /// <summary>The most entries (files and folders) an uploaded zip or tar may hold; more is 400. Default 1000; 1 to 100000.</summary>
    public int MaxArchiveEntries { get; set; } = 1000;

    /// <summary>
    /// The most MiB an uploaded archive may expand to (counted as it is written, not as its headers claim: a zip
    /// bomb stops here); more is 400. Default 2048; 1 to 1048576.
    /// </summary>
    public int MaxExpandedMb { get; set; } = 2048;

    /// <summary><see cref="MaxUploadMb"/> in bytes.</summary>
    public long MaxUploadBytes => MaxUploadMb * 1024L * 1024;

    /// <summary><see cref="MaxExpandedMb"/> in bytes.</summary>
    public long MaxExpandedBytes => MaxExpandedMb * 1024L * 1024;

    /// <summary>Lists every invalid setting.</summary>
    public IEnumerable<string> Validate()
    {
        if (MaxUploadMb is < 1 or > 1048576)
        {
            yield return $"Deployments:MaxUploadMb must be from 1 to 1048576; it is {MaxUploadMb}.";
        }

        if (MaxArchiveEntries is < 1 or > 100000)
        {
            yield return $"Deployments:MaxArchiveEntries must be from 1 to 100000; it is {MaxArchiveEntries}.";
        }

        if (MaxExpandedMb is < 1 or > 1048576)
        {
            yield return $"Deployments:MaxExpandedMb must be from 1 to 1048576; it is {MaxExpandedMb}.";
        }
    }
}
