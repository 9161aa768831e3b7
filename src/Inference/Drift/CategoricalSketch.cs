using System.Text.Json;

namespace ServingGateway.Inference.Drift;

/// <summary>
/// A categorical feature (token ids and other integer or BOOL inputs): PSI over the frequencies of the reference
/// window's <see cref="TopCategories"/> most frequent values and one "other" bin for the rest. The reference window
/// counts at most <see cref="MaxDistinct"/> distinct values (later new values count as "other"), so memory is fixed.
/// </summary>
internal sealed class CategoricalSketch : FeatureSketch
{
    /// <summary>The kind's name.</summary>
    public const string KindName = "categorical";

    /// <summary>
    /// Categories kept with a bin of their own; the rest share the "other" bin: ten bins, as the continuous features
    /// have, since PSI's noise floor (two samples of one distribution) grows with the bins: about (bins - 1) x 2 / window.
    /// </summary>
    public const int TopCategories = 9;

    /// <summary>Distinct values the reference window counts.</summary>
    public const int MaxDistinct = 1024;

    private Dictionary<long, long>? _counts = [];
    private long _overflow;
    private Dictionary<long, int> _bins = [];
    private long[] _categories = [];

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override void AddReference(double value)
    {
        var counts = _counts!;
        var key = (long)value;
        if (counts.TryGetValue(key, out var count))
        {
            counts[key] = count + 1;
        }
        else if (counts.Count < MaxDistinct)
        {
            counts[key] = 1;
        }
        else
        {
            _overflow++;
        }
    }

    /// <inheritdoc />
    public override void WriteBins(Utf8JsonWriter writer)
    {
        writer.WriteStartArray("categories");
        foreach (var category in _categories)
        {
            writer.WriteNumberValue(category);
        }

        writer.WriteEndArray();
    }

    /// <inheritdoc />
    protected override double[] BuildReference()
    {
        var counts = _counts!;
        _counts = null;
        var top = counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key).Take(TopCategories).ToArray();
        SetCategories([.. top.Select(c => c.Key)]);
        var total = Math.Max(1, counts.Values.Sum() + _overflow);
        var shares = new double[top.Length + 1];
        for (var i = 0; i < top.Length; i++)
        {
            shares[i] = top[i].Value / (double)total;
        }

        shares[^1] = (total - top.Sum(c => c.Value)) / (double)total;
        return shares;
    }

    /// <inheritdoc />
    protected override int? ReadBins(JsonElement feature, string where, List<string> errors)
    {
        if (feature.TryGetProperty("categories", out var categories) && categories.ValueKind == JsonValueKind.Array
            && categories.GetArrayLength() <= TopCategories * 8
            && categories.EnumerateArray().All(c => c.ValueKind == JsonValueKind.Number && c.TryGetInt64(out _)))
        {
            var values = categories.EnumerateArray().Select(c => c.GetInt64()).ToArray();
            if (values.Distinct().Count() == values.Length)
            {
                _counts = null;
                SetCategories(values);
                return values.Length + 1;
            }
        }

        errors.Add($"{where}: a categorical feature needs \"categories\", an array of at most {TopCategories * 8} distinct integers");
        return null;
    }

    /// <inheritdoc />
    protected override int BinOf(double value) => _bins.TryGetValue((long)value, out var bin) ? bin : _categories.Length;

    private void SetCategories(long[] categories)
    {
        _categories = categories;
        _bins = categories.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
    }
}
