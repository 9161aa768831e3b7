using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Catalog;

/// <summary>
/// Whether a new version of a model can take the place of one serving it without breaking its callers: the same
/// input names and the same output names, each with the same datatype and rank; a dimension the serving version
/// fixes must stay that size or become dynamic (a dimension it leaves dynamic may become anything). Batching
/// (max_batch_size) comes from the model's config, shared by its versions, so it is not compared here.
/// </summary>
internal static class SignatureCompatibility
{
    /// <summary>Every way <paramref name="candidate"/> differs from <paramref name="serving"/>; empty when it may replace it.</summary>
    public static IReadOnlyList<string> Differences(ModelSignature serving, ModelSignature candidate)
    {
        var differences = new List<string>();
        Compare("input", serving.Inputs, candidate.Inputs, differences);
        Compare("output", serving.Outputs, candidate.Outputs, differences);
        return differences;
    }

    private static void Compare(string kind, TensorSpec[] serving, TensorSpec[] candidate, List<string> differences)
    {
        foreach (var old in serving)
        {
            if (Array.Find(candidate, c => c.Name == old.Name) is not { } spec)
            {
                differences.Add($"{kind} '{old.Name}' is missing (the new version's {kind}s are {Names(candidate)})");
                continue;
            }

            if (spec.DataType != old.DataType)
            {
                differences.Add($"{kind} '{old.Name}' is {spec.DataType.ToOipName()}, was {old.DataType.ToOipName()}");
            }

            if (spec.Shape.Length != old.Shape.Length)
            {
                differences.Add($"{kind} '{old.Name}' has rank {spec.Shape.Length} (shape {TensorShape.Format(spec.Shape)}), was rank {old.Shape.Length} (shape {TensorShape.Format(old.Shape)})");
                continue;
            }

            for (var d = 0; d < old.Shape.Length; d++)
            {
                if (old.Shape[d] >= 0 && spec.Shape[d] >= 0 && spec.Shape[d] != old.Shape[d])
                {
                    differences.Add($"{kind} '{old.Name}' has shape {TensorShape.Format(spec.Shape)}, was {TensorShape.Format(old.Shape)} (dimension {d} is fixed at {old.Shape[d]})");
                    break;
                }
            }
        }

        foreach (var added in candidate.Where(c => !serving.Any(s => s.Name == c.Name)))
        {
            differences.Add($"{kind} '{added.Name}' is new (the serving version's {kind}s are {Names(serving)})");
        }
    }

    private static string Names(TensorSpec[] specs) => specs.Length == 0 ? "none" : string.Join(", ", specs.Select(s => $"'{s.Name}'"));
}
