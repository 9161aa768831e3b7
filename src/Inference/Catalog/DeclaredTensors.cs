using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Catalog;

/// <summary>
/// Checks the inputs and outputs config.pbtxt declares against the model's own (its ONNX signature) when a
/// version loads, as Triton does: the same names, datatypes and dimensions (without the batch dimension when
/// max_batch_size &gt; 0). A declared size where the model's dimension is dynamic narrows it: requests must then
/// have that size.
/// </summary>
internal static class DeclaredTensors
{
    /// <summary>Returns <paramref name="signature"/>, narrowed where the declarations fix a dynamic dimension.</summary>
    /// <exception cref="InvalidDataException">A declaration does not match the model; the message lists every mismatch.</exception>
    public static ModelSignature Apply(ModelSignature signature, ModelConfig config)
    {
        if (config.Inputs.Length == 0 && config.Outputs.Length == 0)
        {
            return signature;
        }

        var errors = new List<string>();
        var inputs = Match("input", config.Inputs, signature.Inputs, signature.MaxBatchSize, errors);
        var outputs = Match("output", config.Outputs, signature.Outputs, signature.MaxBatchSize, errors);
        if (errors.Count > 0)
        {
            throw new InvalidDataException($"{TritonConfigReader.FileName} does not match the model: {string.Join("; ", errors)}");
        }

        return new ModelSignature(inputs, outputs, signature.MaxBatchSize);
    }

    private static TensorSpec[] Match(string kind, TensorDeclaration[] declared, TensorSpec[] actual, int maxBatchSize, List<string> errors)
    {
        if (declared.Length == 0)
        {
            return actual;
        }

        foreach (var declaration in declared.Where(d => !actual.Any(a => a.Name == d.Name)))
        {
            errors.Add($"line {declaration.Line}: {kind} \"{declaration.Name}\" is not in the model, whose {kind}s are {Names(actual)}");
        }

        foreach (var missing in actual.Where(a => !declared.Any(d => d.Name == a.Name)))
        {
            errors.Add($"the model's {kind} \"{missing.Name}\" is not declared (declare every {kind}, or none)");
        }

        var result = new TensorSpec[actual.Length];
        for (var i = 0; i < actual.Length; i++)
        {
            var spec = actual[i];
            result[i] = spec;
            if (Array.Find(declared, d => d.Name == spec.Name) is not { } declaration)
            {
                continue;
            }

            if (declaration.DataType != spec.DataType)
            {
                errors.Add($"line {declaration.Line}: {kind} \"{spec.Name}\" is declared {TritonConfigReader.TypeName(declaration.DataType)} but the model has {TritonConfigReader.TypeName(spec.DataType)}");
            }

            // With max_batch_size > 0, Triton's dims leave out the batch dimension (the model's first).
            var skip = maxBatchSize > 0 ? 1 : 0;
            var modelDims = spec.Shape.AsSpan(Math.Min(skip, spec.Shape.Length));
            if (modelDims.Length != declaration.Dims.Length || !Compatible(declaration.Dims, modelDims))
            {
                errors.Add($"line {declaration.Line}: {kind} \"{spec.Name}\" is declared with dims {TensorShape.Format(declaration.Dims)} but the model has {TensorShape.Format(modelDims)}"
                    + (skip == 1 ? " after its batch dimension" : ""));
                continue;
            }

            if (!modelDims.SequenceEqual(declaration.Dims))
            {
                var shape = spec.Shape.ToArray();
                var symbols = spec.SymbolicDims.ToArray();
                for (var d = 0; d < declaration.Dims.Length; d++)
                {
                    if (declaration.Dims[d] >= 0)
                    {
                        shape[d + skip] = declaration.Dims[d];
                        symbols[d + skip] = null;
                    }
                }

                result[i] = new TensorSpec(spec.Name, spec.DataType, shape, symbols);
            }
        }

        return result;
    }

    // A declared dimension matches the model's when they are equal, or when the model's is dynamic.
    private static bool Compatible(long[] declared, ReadOnlySpan<long> model)
    {
        for (var d = 0; d < declared.Length; d++)
        {
            if (model[d] >= 0 && declared[d] != model[d])
            {
                return false;
            }
        }

        return true;
    }

    private static string Names(TensorSpec[] specs) => string.Join(", ", specs.Select(s => $"\"{s.Name}\""));
}
