using System.Text.Json;

namespace ServingGateway.Inference.Drift;

/// <summary>
/// A continuous feature (FP16, BF16, FP32, FP64): <see cref="Bins"/> equal-frequency bins whose edges are the
/// quantiles of the first <see cref="SeedValues"/> reference values (kept only until then); every reference
/// value is counted in them. Memory is fixed: the seed, then the edges and two arrays of counts.
/// </summary>
internal sealed class ContinuousSketch : FeatureSketch
{
    /// <summary>The kind's name.</summary>
    public const string KindName = "continuous";

    /// <summary>Bins per feature (deciles of the reference).</summary>
    public const int Bins = 10;

    /// <summary>Reference values the edges are taken from; later ones are only counted.</summary>
    public const int SeedValues = 256;

    private List<double>? _seed = [];
    private double[] _edges = [];
    private long[] _referenceCounts = [];

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override void AddReference(double value)
    {
        if (_seed is null)
        {
            _referenceCounts[DriftStatistics.BinOf(_edges, value)]++;
            return;
        }

        _seed.Add(value);
        if (_seed.Count == SeedValues)
        {
            FixEdges();
        }
    }

    /// <inheritdoc />
    public override void WriteBins(Utf8JsonWriter writer)
    {
        writer.WriteStartArray("edges");
        foreach (var edge in _edges)
        {
            writer.WriteNumberValue(edge);
        }

        writer.WriteEndArray();
    }

    /// <inheritdoc />
    protected override double[] BuildReference()
    {
        if (_seed is not null)
        {
            FixEdges();
        }

        var total = Math.Max(1, _referenceCounts.Sum());
        return [.. _referenceCounts.Select(c => c / (double)total)];
    }

    /// <inheritdoc />
    protected override int? ReadBins(JsonElement feature, string where, List<string> errors)
    {
        if (feature.TryGetProperty("edges", out var edges) && edges.ValueKind == JsonValueKind.Array && edges.GetArrayLength() > 0
            && edges.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number))
        {
            var values = edges.EnumerateArray().Select(e => e.GetDouble()).ToArray();
            if (values.Zip(values.Skip(1)).All(p => p.First < p.Second))
            {
                _seed = null;
                _edges = values;
                return values.Length + 1;
            }
        }

        errors.Add($"{where}: a continuous feature needs \"edges\", a non-empty array of increasing numbers");
        return null;
    }

    /// <inheritdoc />
    protected override int BinOf(double value) => DriftStatistics.BinOf(_edges, value);

    private void FixEdges()
    {
        var seed = _seed!;
        _seed = null;
        _edges = DriftStatistics.QuantileEdges(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(seed), Bins);
        _referenceCounts = new long[_edges.Length + 1];
        foreach (var value in seed)
        {
            _referenceCounts[DriftStatistics.BinOf(_edges, value)]++;
        }
    }
}
