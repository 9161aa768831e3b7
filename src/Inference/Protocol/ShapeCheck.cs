using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Protocol;

/// <summary>
/// The checks of a request's inputs against the model that do not depend on how the request was encoded:
/// datatype, rank, fixed and symbolic dimensions, the batch size, the element count. The REST reader
/// (<see cref="InferRequestReader"/>) and the gRPC one run the same checks with the same messages; each then
/// checks its own data (JSON arrays, binary sections, raw or typed contents) against the counts found here.
/// </summary>
/// <param name="signature">The model's inputs and outputs.</param>
internal struct ShapeCheck(ModelSignature signature)
{
    private Dictionary<string, (long Value, string Input)>? _symbols;

    /// <summary>Rows in dimension 0 when the model batches (after <see cref="Input"/> for every input); 1 when it does not.</summary>
    public long BatchSize { get; private set; } = 1;

    /// <summary>
    /// Checks the input at <paramref name="index"/> of the model's inputs, sent as <paramref name="dataType"/>
    /// with <paramref name="shape"/>; call in the model's input order. Returns its element count.
    /// </summary>
    /// <exception cref="InferenceException">400, saying what does not fit.</exception>
    public long Input(int index, TensorDataType dataType, long[] shape)
    {
        var spec = signature.Inputs[index];
        if (dataType != spec.DataType)
        {
            throw InferenceException.BadRequest(
                $"input '{spec.Name}' is {dataType.ToOipName()} but the model expects {spec.DataType.ToOipName()}");
        }

        if (shape.Length != spec.Shape.Length)
        {
            throw InferenceException.BadRequest(
                $"input '{spec.Name}' has shape {TensorShape.Format(shape)} but the model expects {TensorShape.Format(spec.Shape)}");
        }

        for (var d = 0; d < shape.Length; d++)
        {
            if (spec.Shape[d] >= 0 && shape[d] != spec.Shape[d])
            {
                throw InferenceException.BadRequest(
                    $"input '{spec.Name}' has shape {TensorShape.Format(shape)} but the model expects {TensorShape.Format(spec.Shape)}");
            }

            if (spec.SymbolicDims[d] is { } symbol && !(d == 0 && signature.MaxBatchSize > 0))
            {
                _symbols ??= [];
                if (_symbols.TryGetValue(symbol, out var seen) && seen.Value != shape[d])
                {
                    throw InferenceException.BadRequest(
                        $"inputs '{seen.Input}' and '{spec.Name}' disagree on dimension '{symbol}' ({seen.Value} and {shape[d]})");
                }

                _symbols[symbol] = (shape[d], spec.Name);
            }
        }

        if (signature.MaxBatchSize > 0)
        {
            if (shape[0] < 1 || shape[0] > signature.MaxBatchSize)
            {
                throw InferenceException.BadRequest(
                    $"input '{spec.Name}' has batch size {shape[0]}; this model takes 1 to {signature.MaxBatchSize} (max_batch_size)");
            }

            if (index > 0 && shape[0] != BatchSize)
            {
                throw InferenceException.BadRequest(
                    $"inputs disagree on the batch size ({BatchSize} for '{signature.Inputs[0].Name}', {shape[0]} for '{spec.Name}')");
            }

            BatchSize = shape[0];
        }

        var size = spec.DataType.ElementSize();
        if (!TensorShape.TryGetElementCount(shape, InferRequestReader.MaxTensorBytes / Math.Max(size, 4), out var count))
        {
            throw InferenceException.BadRequest($"input '{spec.Name}' has shape {TensorShape.Format(shape)}, larger than any request can carry");
        }

        return count;
    }

    /// <summary>The error for a dimension below zero.</summary>
    public static InferenceException NegativeDimension(long dim) => InferenceException.BadRequest($"shape dimensions cannot be negative (got {dim})");

    /// <summary>The error for a shape longer than Inference:MaxRank.</summary>
    public static InferenceException TooManyDimensions(int maxRank) => InferenceException.BadRequest($"a shape has more than {maxRank} dimensions (Inference:MaxRank)");

    /// <summary>The error for an input the model does not have.</summary>
    public static InferenceException UnknownInput(string? name, ModelSignature signature) => InferenceException.BadRequest(
        $"unknown input '{name}'; the model's inputs are {string.Join(", ", signature.Inputs.Select(i => $"'{i.Name}'"))}");

    /// <summary>The error for an output the model does not have.</summary>
    public static InferenceException UnknownOutput(string? name, ModelSignature signature) => InferenceException.BadRequest(
        $"unknown output '{name}'; the model's outputs are {string.Join(", ", signature.Outputs.Select(o => $"'{o.Name}'"))}");

    /// <summary>The error for the model inputs a request did not send, null when it sent all: <paramref name="byInput"/> holds what it sent per model input, null where nothing.</summary>
    public static InferenceException? Missing<T>(ModelSignature signature, T?[] byInput)
        where T : class
    {
        if (Array.IndexOf(byInput, null) < 0)
        {
            return null;
        }

        var missing = signature.Inputs.Where((_, i) => byInput[i] is null).Select(s => $"'{s.Name}'");
        return InferenceException.BadRequest($"missing input {string.Join(", ", missing)}");
    }
}
