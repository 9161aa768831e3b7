namespace ServingGateway.Auth;

/// <summary>
/// The audit log, bound from the configuration section <c>Audit</c> at start (not reloaded): one JSON line
/// per repository or admin call and per 401/403.
/// </summary>
public sealed class AuditOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Audit";

    /// <summary>
    /// The file lines are appended to. Default <c>audit.log</c> beside the model repository (roles standalone
    /// and node), in the working directory on an edge.
    /// </summary>
    public string? Path { get; set; }

    /// <summary>
    /// The file is rotated when a line would take it past this size: it becomes <c>PATH.1</c> (replacing the
    /// one before) and a new file starts. Default 10 MiB; 4096 to 1 TiB.
    /// </summary>
    public long MaxBytes { get; set; } = 10L * 1024 * 1024;

    /// <summary>Lists every invalid setting.</summary>
    public IEnumerable<string> Validate()
    {
        if (MaxBytes is < 4096 or > 1L << 40)
        {
            yield return $"Audit:MaxBytes must be from 4096 to {1L << 40}; it is {MaxBytes}.";
        }

        if (Path is { Length: > 0 } path && System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) is { } directory && !Directory.Exists(directory))
        {
            yield return $"Audit:Path: the directory {directory} does not exist";
        }
    }
}
