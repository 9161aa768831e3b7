namespace ServingGateway.Deployments.Rollouts;

/// <summary>The rollouts' settings, section <c>Deployments</c> (docs/CONFIGURATION.md).</summary>
internal sealed class RolloutOptions
{
    public const string SectionName = "Deployments";

    /// <summary>
    /// The state file (splits and rollouts, see <see cref="RolloutStore"/>) when there is no <c>--redis</c>; default
    /// <c>deployments.json</c> beside the model repository folder (in its parent), or in the working folder on an edge.
    /// Its folder must exist.
    /// </summary>
    public string? StateFile { get; set; }

    /// <summary>How often the driver looks at running rollouts, in milliseconds (100 to 60000; default 1000).</summary>
    public int TickMilliseconds { get; set; } = 1000;

    /// <summary>
    /// After a promotion or rollback moves all traffic off a version, how long the driver waits before that version
    /// drains and unloads, in milliseconds (0 to 60000; default 1000): requests routed by the old split just before the
    /// change (through an edge, still on their way to a node) arrive and are answered, never refused.
    /// </summary>
    public int UnloadGraceMilliseconds { get; set; } = 1000;

    /// <summary>
    /// With <c>--redis</c>: how often a process that does not drive the rollouts reads the stored revision and applies
    /// a changed split, in milliseconds (50 to 1000; default 250): every edge routes by a new split within about this.
    /// </summary>
    public int FollowMilliseconds { get; set; } = 250;

    /// <summary>
    /// With <c>--redis</c>: the expiry of the lease that makes one process the rollouts' driver, in seconds (1 to 300;
    /// default 5); the driver renews it every tick, so it must last at least three ticks. When the driver stops, another
    /// edge takes the rollouts over within this time.
    /// </summary>
    public double LeaseSeconds { get; set; } = 5;

    /// <summary>
    /// With <c>--redis</c>: the URL other edges reach this one at, for the admin calls they forward to the driver;
    /// default its first listening address (a wildcard host replaced by the machine's name).
    /// </summary>
    public string? AdvertisedUrl { get; set; }

    /// <summary>Every error in these settings.</summary>
    public IEnumerable<string> Validate()
    {
        if (TickMilliseconds is < 100 or > 60_000)
        {
            yield return $"Deployments:TickMilliseconds must be from 100 to 60000 (got {TickMilliseconds}).";
        }

        if (UnloadGraceMilliseconds is < 0 or > 60_000)
        {
            yield return $"Deployments:UnloadGraceMilliseconds must be from 0 to 60000 (got {UnloadGraceMilliseconds}).";
        }

        if (FollowMilliseconds is < 50 or > 1000)
        {
            yield return $"Deployments:FollowMilliseconds must be from 50 to 1000 (got {FollowMilliseconds}).";
        }

        if (LeaseSeconds is < 1 or > 300 || double.IsNaN(LeaseSeconds))
        {
            yield return $"Deployments:LeaseSeconds must be from 1 to 300 (got {LeaseSeconds}).";
        }
        else if (LeaseSeconds * 1000 < 3 * TickMilliseconds)
        {
            yield return $"Deployments:LeaseSeconds ({LeaseSeconds}) must last at least three ticks of Deployments:TickMilliseconds ({TickMilliseconds}): the driver renews it every tick.";
        }

        if (AdvertisedUrl is { } url && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            yield return $"Deployments:AdvertisedUrl must be an absolute http or https URL (got '{url}').";
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
