using System.Text.Json;

namespace ServingGateway.Inference.Drift;

/// <summary>
/// One feature's fixed-size distributions: the reference shares per bin, the live window's counts per bin, and the
/// PSI (and KS) of the last complete window. Two kinds: <see cref="ContinuousSketch"/> (quantile bins) and
/// <see cref="CategoricalSketch"/> (top categories and "other"). Not thread-safe: the monitor's loop owns it.
/// </summary>
internal abstract class FeatureSketch
{
    private long[] _live = [];

    /// <summary>The reference share of each bin; empty until the reference is complete.</summary>
    public double[] Reference { get; private set; } = [];

    /// <summary>Whether the reference is complete (from its window or from drift_reference.json).</summary>
    public bool HasReference => Reference.Length > 0;

    /// <summary>The PSI of the last complete live window; NaN before one completed.</summary>
    public double Psi { get; private set; } = double.NaN;

    /// <summary>The binned KS statistic of the last complete live window (continuous only); NaN otherwise.</summary>
    public double Ks { get; private set; } = double.NaN;

    /// <summary>"continuous" or "categorical", as the JSON and drift_reference.json name the kind.</summary>
    public abstract string Kind { get; }

    /// <summary>Adds one value of the reference window.</summary>
    public abstract void AddReference(double value);

    /// <summary>Ends the reference window: fixes the bins and the reference shares.</summary>
    public void CompleteReference() => SetReference(BuildReference());

    /// <summary>Counts one value of the live window.</summary>
    public void AddLive(double value) => _live[BinOf(value)]++;

    /// <summary>Ends the live window: computes its PSI (and KS) against the reference and starts the next one empty.</summary>
    public void CompleteWindow()
    {
        Psi = DriftStatistics.Psi(Reference, _live);
        Ks = Kind == ContinuousSketch.KindName ? DriftStatistics.Ks(Reference, _live) : double.NaN;
        Array.Clear(_live);
    }

    /// <summary>Reads the reference of this feature from one entry of drift_reference.json; problems go to <paramref name="errors"/>.</summary>
    public void ReadReference(JsonElement feature, string where, List<string> errors)
    {
        var count = errors.Count;
        var shares = ReadBins(feature, where, errors);
        if (feature.TryGetProperty("fractions", out var fractions) && fractions.ValueKind == JsonValueKind.Array
            && fractions.EnumerateArray().All(f => f.ValueKind == JsonValueKind.Number && f.GetDouble() >= 0))
        {
            var values = fractions.EnumerateArray().Select(f => f.GetDouble()).ToArray();
            var sum = values.Sum();
            if (shares is not null && values.Length != shares)
            {
                errors.Add($"{where}: \"fractions\" must have {shares} entries (one per bin), not {values.Length}");
            }
            else if (Math.Abs(sum - 1) > 1e-3)
            {
                errors.Add($"{where}: \"fractions\" must sum to 1, not {sum}");
            }
            else if (errors.Count == count)
            {
                SetReference([.. values.Select(v => v / sum)]);
            }
        }
        else
        {
            errors.Add($"{where}: \"fractions\" must be an array of non-negative numbers");
        }
    }

    /// <summary>The bins of the completed reference and their shares, as drift_reference.json writes them.</summary>
    public abstract void WriteBins(Utf8JsonWriter writer);

    /// <summary>Fixes the bins from the reference window and returns each bin's share.</summary>
    protected abstract double[] BuildReference();

    /// <summary>Reads this kind's bins of a drift_reference.json entry; returns the bin count, or null after adding an error.</summary>
    protected abstract int? ReadBins(JsonElement feature, string where, List<string> errors);

    /// <summary>The bin of a value, once the bins are fixed.</summary>
    protected abstract int BinOf(double value);

    private void SetReference(double[] shares)
    {
        Reference = shares;
        _live = new long[shares.Length];
    }
}
