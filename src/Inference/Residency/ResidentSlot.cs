using System.Globalization;

namespace ServingGateway.Inference.Residency;

/// <summary>
/// A cataloged version's place in <see cref="ModelResidency"/>: how to load it, what it is estimated to hold in
/// memory, and its <see cref="ModelHost"/> while it is resident (null, or an evicted host, while it is not).
/// </summary>
/// <remarks>
/// The repository creates one per ready version of a snapshot and keeps it across reloads that leave the
/// version unchanged; <see cref="ModelResidency"/> alone changes its residency fields, under a lock on the slot.
/// </remarks>
internal sealed class ResidentSlot
{
    private readonly Func<ModelHost> _load;
    private ModelHost? _host;

    /// <param name="modelName">The model's name.</param>
    /// <param name="version">The version number.</param>
    /// <param name="digest">The version's digest: a reload keeps the slot only while it is unchanged.</param>
    /// <param name="configText">The model's config text the version is loaded with: likewise.</param>
    /// <param name="estimatedBytes">What the version holds in memory once resident (<see cref="ModelHostFactory.EstimateBytes"/>).</param>
    /// <param name="load">Creates the host; may throw (the reason is the load's error).</param>
    public ResidentSlot(string modelName, long version, string digest, string configText, long estimatedBytes, Func<ModelHost> load)
    {
        ModelName = modelName;
        Version = version;
        VersionText = version.ToString(CultureInfo.InvariantCulture);
        Digest = digest;
        ConfigText = configText;
        EstimatedBytes = estimatedBytes;
        _load = load;
    }

    /// <summary>The model's name.</summary>
    public string ModelName { get; }

    /// <summary>The version number.</summary>
    public long Version { get; }

    /// <summary>The version number as text.</summary>
    public string VersionText { get; }

    /// <summary>The version's digest.</summary>
    public string Digest { get; }

    /// <summary>The text of the model's config files the version is loaded with; a change reloads it.</summary>
    public string ConfigText { get; }

    /// <summary>The bytes counted against Inference:MaxResidentMb while resident.</summary>
    public long EstimatedBytes { get; }

    /// <summary>The host, while resident (an evicted or retired one until the next load replaces it).</summary>
    public ModelHost? Host
    {
        get => Volatile.Read(ref _host);
        internal set => Volatile.Write(ref _host, value);
    }

    /// <summary>Whether a host serves this version now.</summary>
    public bool IsResident => Host is { IsResident: true };

    /// <summary>True once unloaded or replaced by a reload: never loaded again.</summary>
    internal bool Retired { get; set; }

    /// <summary>The load in progress that every request for this version waits on (single flight), or null.</summary>
    internal Task<ModelHost>? Loading { get; set; }

    /// <summary>The residency's use clock when a request last took this version.</summary>
    internal long LastUsed;

    /// <summary>
    /// The use clock of the request before the last one (0 when there was none): the version whose second-to-last
    /// use is the oldest goes first (LRU-2). Kept across evictions, as the slot is.
    /// </summary>
    internal long PreviousUsed;

    /// <summary>Creates the host.</summary>
    internal ModelHost Load() => _load();
}
