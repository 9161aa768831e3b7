namespace ServingGateway.Deployments.Versions;

/// <summary>What an upload got as far as it went, for its audit line: filled in by <see cref="VersionStore"/> as it goes, read whether it stored the version or refused it.</summary>
internal sealed class UploadReceipt
{
    /// <summary>Body bytes received.</summary>
    public long Bytes { get; set; }

    /// <summary>The version's digest, once computed.</summary>
    public string? Digest { get; set; }

    /// <summary>created, unchanged, or why it was refused (conflict, invalid, too_large, unsupported_media_type).</summary>
    public string Result { get; set; } = "aborted";
}
