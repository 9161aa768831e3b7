using System.Collections.Frozen;

namespace ServingGateway.Deployments;

/// <summary>
/// The live splits, in memory: one immutable map swapped whole on each change, so a request reads a consistent split
/// without a lock and a change applies to every request that starts after it. Each split is kept with its slot table
/// (<see cref="SplitSlots"/>) so a request's choice is one array read.
/// </summary>
internal sealed class TrafficSplits : ITrafficSplits
{
    private FrozenDictionary<string, SplitSlots> _splits = FrozenDictionary<string, SplitSlots>.Empty;
    private readonly Lock _writes = new();

    public IReadOnlyDictionary<string, TrafficSplit> All =>
        Volatile.Read(ref _splits).ToDictionary(p => p.Key, p => p.Value.Split, StringComparer.Ordinal);

    public TrafficSplit? Get(string model) => Slots(model)?.Split;

    /// <summary>The model's split with its slot table; null when it has none.</summary>
    public SplitSlots? Slots(string model) => Volatile.Read(ref _splits).GetValueOrDefault(model);

    /// <exception cref="ArgumentException">The shares do not sum to 100, a percent is outside 0-100, a version is named twice or is not positive, or the shadow's sample ratio is outside 0-1.</exception>
    public void Set(string model, TrafficSplit split)
    {
        var slots = new SplitSlots(split);
        lock (_writes)
        {
            var next = new Dictionary<string, SplitSlots>(_splits, StringComparer.Ordinal) { [model] = slots };
            Volatile.Write(ref _splits, next.ToFrozenDictionary(StringComparer.Ordinal));
        }
    }

    public void Remove(string model)
    {
        lock (_writes)
        {
            if (_splits.ContainsKey(model))
            {
                var next = new Dictionary<string, SplitSlots>(_splits, StringComparer.Ordinal);
                next.Remove(model);
                Volatile.Write(ref _splits, next.ToFrozenDictionary(StringComparer.Ordinal));
            }
        }
    }
}
