namespace ServingGateway.Deployments.Rollouts;

/// <summary>The rollouts' settings, section <c>Deployments</c> (docs/CONFIGURATION.md).</summary>
internal sealed class RolloutOptions
{
    public const string SectionName = "Deployments";

    /// <summary>
    /// The state file (splits and rollouts, see <see cref="RolloutStore"/>); default <c>deployments.json</c> beside the
    /// model repository folder (in its parent). Its folder must exist.
    /// </summary>
    public string? StateFile { get; set; }

    /// <summary>How often the driver looks at running rollouts, in milliseconds (100 to 60000; default 1000).</summary>
    public int TickMilliseconds { get; set; } = 1000;

    /// <summary>Every error in these settings.</summary>
    public IEnumerable<string> Validate()
    {
        if (TickMilliseconds is < 100 or > 60_000)
        {
            yield return $"Deployments:TickMilliseconds must be from 100 to 60000 (got {TickMilliseconds}).";
        }

        if (StateFile is { } file)
        {
            if (string.IsNullOrWhiteSpace(file))
            {
                yield return "Deployments:StateFile must name a file.";
            }
            else if (System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file)) is { } folder && !Directory.Exists(folder))
            {
                yield return $"Deployments:StateFile {file}: its folder {folder} does not exist.";
            }
        }
    }
}
