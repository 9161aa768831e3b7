using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Runtime;

/// <summary>
/// Works out, before a run, the shape of each output from the inputs' shapes, so outputs can be
/// pre-allocated in pooled buffers. A dynamic output dimension is known when it is the batch
/// dimension (dim 0 of a batching model) or carries the same symbolic name as an input dimension;
/// any other makes the output's shape unknown until ONNX Runtime has run.
/// </summary>
internal sealed class OutputShapePlan
{
    private const long Unknown = long.MinValue;
    private const long Batch = -1;

    // Per output, per dimension: a value >= 0 is fixed; Batch; Unknown; or -(2 + input * 64 + dim).
    private readonly long[][] _plan;

    public OutputShapePlan(ModelSignature signature)
    {
        _plan = new long[signature.Outputs.Length][];
        for (var o = 0; o < signature.Outputs.Length; o++)
        {
            var spec = signature.Outputs[o];
            var dims = new long[spec.Shape.Length];
            for (var d = 0; d < dims.Length; d++)
            {
                dims[d] = spec.Shape[d] >= 0 ? spec.Shape[d]
                    : d == 0 && signature.MaxBatchSize > 0 ? Batch
                    : FindInputDim(signature, spec.SymbolicDims[d]);
            }

            _plan[o] = dims;
        }
    }

    /// <summary>The shape of output <paramref name="output"/> for these inputs, or null when it is known only after the run.</summary>
    public long[]? Resolve(int output, PooledTensor[] inputs, long batchSize)
    {
        var dims = _plan[output];
        var shape = new long[dims.Length];
        for (var d = 0; d < dims.Length; d++)
        {
            var source = dims[d];
            if (source == Unknown)
            {
                return null;
            }

            if (source >= 0)
            {
                shape[d] = source;
            }
            else if (source == Batch)
            {
                shape[d] = batchSize;
            }
            else
            {
                var code = -source - 2;
                shape[d] = inputs[code / 64].Shape[code % 64];
            }
        }

        return shape;
    }

    private static long FindInputDim(ModelSignature signature, string? symbol)
    {
        if (symbol is null)
        {
            return Unknown;
        }

        for (var i = 0; i < signature.Inputs.Length; i++)
        {
            var dims = signature.Inputs[i].SymbolicDims;
            for (var d = 0; d < dims.Length && d < 64; d++)
            {
                if (dims[d] == symbol)
                {
                    return -(2 + (i * 64) + d);
                }
            }
        }

        return Unknown;
    }
}
