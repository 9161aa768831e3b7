namespace ServingGateway.Deployments.Shadow;

/// <summary>
/// The divergence of a shadow's answer from the answer the caller got to the same request: the relative L2 distance
/// ||a - b|| / max(||a||, 1e-12), where a is the caller's outputs and b the shadow's, each concatenated in the
/// ordinal order of the output names. Answers whose output names, datatypes or shapes differ are not comparable:
/// divergence +infinity, with the reason.
/// </summary>
/// <remarks>
/// Non-finite elements: the same value on both sides (NaN and NaN, or one infinity and the same infinity) adds
/// nothing; any other pair with a non-finite side is a mismatch (<see cref="NonFinite"/>). BYTES outputs have no
/// distance: equal bytes add nothing, different bytes are a mismatch (<see cref="Bytes"/>).
/// </remarks>
internal static class OutputDivergence
{
    /// <summary>The smallest norm divided by: a caller's all-zero outputs make the distance absolute.</summary>
    public const double MinNorm = 1e-12;

    /// <summary>Mismatch: the two answers do not have the same output names.</summary>
    public const string Names = "names";

    /// <summary>Mismatch: an output's datatype differs.</summary>
    public const string DataType = "datatype";

    /// <summary>Mismatch: an output's shape differs.</summary>
    public const string Shape = "shape";

    /// <summary>Mismatch: a BYTES output's elements differ.</summary>
    public const string Bytes = "bytes";

    /// <summary>Mismatch: a NaN or infinity on one side meets another value on the other.</summary>
    public const string NonFinite = "non_finite";

    /// <summary>Mismatch: the shadow's answer (status 200) could not be read as an infer answer.</summary>
    public const string Unreadable = "unreadable";

    /// <summary>Every mismatch reason, as the metrics label them.</summary>
    public static IReadOnlyList<string> Reasons { get; } = [Names, DataType, Shape, Bytes, NonFinite, Unreadable];

    /// <summary>Compares the <paramref name="shadow"/> answer's outputs with the <paramref name="served"/> one's.</summary>
    public static ShadowComparison Compare(IReadOnlyDictionary<string, InferAnswerOutput> served, IReadOnlyDictionary<string, InferAnswerOutput> shadow)
    {
        if (served.Count != shadow.Count || served.Keys.Any(name => !shadow.ContainsKey(name)))
        {
            return ShadowComparison.Mismatched(Names);
        }

        double difference = 0, norm = 0;
        foreach (var name in served.Keys.Order(StringComparer.Ordinal))
        {
            var a = served[name];
            var b = shadow[name];
            if (a.DataType != b.DataType)
            {
                return ShadowComparison.Mismatched(DataType);
            }

            if (!a.Shape.AsSpan().SequenceEqual(b.Shape))
            {
                return ShadowComparison.Mismatched(Shape);
            }

            if (a.Bytes is not null || b.Bytes is not null)
            {
                if (!a.Bytes.AsSpan().SequenceEqual(b.Bytes))
                {
                    return ShadowComparison.Mismatched(Bytes);
                }

                continue;
            }

            for (var i = 0; i < a.Values.Length; i++)
            {
                double x = a.Values[i], y = b.Values[i];
                if (!double.IsFinite(x) || !double.IsFinite(y))
                {
                    if (x.Equals(y))
                    {
                        continue; // NaN.Equals(NaN) is true; so is the same infinity
                    }

                    return ShadowComparison.Mismatched(NonFinite);
                }

                difference += (x - y) * (x - y);
                norm += x * x;
            }
        }

        return new ShadowComparison(Math.Sqrt(difference) / Math.Max(Math.Sqrt(norm), MinNorm));
    }
}
