using System.Globalization;

namespace ServingGateway.Deployments;

/// <summary>
/// A split as 100 slots, one per percent: slot <c>i</c> holds the version that a request drawn at <c>i</c> gets. The
/// shares fill the slots in their order, so a version listed first keeps the low slots as its percent grows: a
/// routing key (hashed to a fixed slot) that reached it at 5% still reaches it at 25%.
/// </summary>
internal sealed class SplitSlots
{
    private readonly long[] _slots = new long[100];

    /// <exception cref="ArgumentException">See <see cref="TrafficSplits.Set"/>.</exception>
    public SplitSlots(TrafficSplit split)
    {
        var problems = Check(split).ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("invalid traffic split: " + string.Join("; ", problems), nameof(split));
        }

        Split = split;
        var slot = 0;
        foreach (var share in split.Shares)
        {
            for (var i = 0; i < share.Percent; i++)
            {
                _slots[slot++] = share.Version;
            }
        }

        VersionTexts = split.Shares.ToDictionary(s => s.Version, s => s.Version.ToString(CultureInfo.InvariantCulture));
        ShadowText = split.Shadow?.Version.ToString(CultureInfo.InvariantCulture);
    }

    public TrafficSplit Split { get; }

    /// <summary>Each version's route text (the number as the repository spells its folder).</summary>
    public IReadOnlyDictionary<long, string> VersionTexts { get; }

    /// <summary>The shadow version's route text, or null.</summary>
    public string? ShadowText { get; }

    /// <summary>The version at <paramref name="slot"/> (0-99).</summary>
    public long At(int slot) => _slots[slot];

    private static IEnumerable<string> Check(TrafficSplit split)
    {
        if (split.Shares.Count == 0)
        {
            yield return "no versions";
        }

        foreach (var share in split.Shares)
        {
            if (share.Version <= 0)
            {
                yield return $"version {share.Version} is not a positive number";
            }

            if (share.Percent is < 0 or > 100)
            {
                yield return $"version {share.Version}: percent {share.Percent} is outside 0-100";
            }
        }

        if (split.Shares.Select(s => s.Version).Distinct().Count() != split.Shares.Count)
        {
            yield return "a version is named twice";
        }

        if (split.Shares.Count > 0 && split.Shares.Sum(s => (long)s.Percent) != 100)
        {
            yield return $"the percents sum to {split.Shares.Sum(s => s.Percent)}, not 100";
        }

        if (split.Shadow is { } shadow && (shadow.Version <= 0 || !(shadow.SampleRatio is >= 0 and <= 1)))
        {
            yield return $"shadow version {shadow.Version} with sample ratio {shadow.SampleRatio}: a positive version and a ratio in 0-1";
        }
    }
}
