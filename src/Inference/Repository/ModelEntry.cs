namespace ServingGateway.Inference.Repository;

/// <summary>
/// A model of the repository and its current snapshot, which load and unload replace whole so a
/// request sees either the old set of versions or the new one, never a mix.
/// </summary>
internal sealed class ModelEntry
{
    private ModelSnapshot _snapshot;

    public ModelEntry(string name, ModelSnapshot snapshot)
    {
        Name = name;
        _snapshot = snapshot;
    }

    /// <summary>The model's name: its folder's name.</summary>
    public string Name { get; }

    /// <summary>The versions now served and the state of every version considered.</summary>
    public ModelSnapshot Snapshot
    {
        get => Volatile.Read(ref _snapshot);
        set => Volatile.Write(ref _snapshot, value);
    }
}
