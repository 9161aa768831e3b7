using System.Buffers.Binary;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Drift;

/// <summary>
/// One watched input of a model and what its features are: each element of a row when a row has a fixed shape of at
/// most <see cref="MaxFeatures"/> elements (mlp's 64 values, a tokenizer's 32 positions), else the input as a whole
/// (an image, a dynamic sequence): one feature fed with up to <see cref="MaxFeatures"/> elements of each row, taken at
/// an even stride. Float types are continuous, integer and BOOL types categorical; BYTES inputs are not watched.
/// </summary>
internal sealed class DriftInput
{
    /// <summary>The most features an input has, and the most values a row of a whole-input feature gives.</summary>
    public const int MaxFeatures = 64;

    private DriftInput(string name, int index, TensorDataType dataType, bool perElement, bool continuous)
    {
        Name = name;
        Index = index;
        DataType = dataType;
        PerElement = perElement;
        Continuous = continuous;
    }

    /// <summary>The input's name.</summary>
    public string Name { get; }

    /// <summary>The input's position in the model's signature (and in a request's inputs).</summary>
    public int Index { get; }

    /// <summary>The element type.</summary>
    public TensorDataType DataType { get; }

    /// <summary>True when each element of a row is a feature; false when the input as a whole is one.</summary>
    public bool PerElement { get; }

    /// <summary>Whether the features are continuous (else categorical).</summary>
    public bool Continuous { get; }

    /// <summary>The features' sketches: one per element, or one for the whole input.</summary>
    public FeatureSketch[] Features { get; private init; } = [];

    /// <summary>The name of feature <paramref name="feature"/>: <c>input[3]</c> per element, <c>input</c> as a whole.</summary>
    public string FeatureName(int feature) => PerElement ? $"{Name}[{feature}]" : Name;

    /// <summary>The watched inputs of <paramref name="signature"/> (all but BYTES), with empty sketches.</summary>
    public static DriftInput[] Of(ModelSignature signature)
    {
        var inputs = new List<DriftInput>();
        for (var i = 0; i < signature.Inputs.Length; i++)
        {
            var spec = signature.Inputs[i];
            if (spec.DataType is TensorDataType.Bytes or TensorDataType.Invalid)
            {
                continue;
            }

            var rowShape = signature.MaxBatchSize > 0 ? spec.Shape.AsSpan(1) : spec.Shape.AsSpan();
            long elements = 1;
            foreach (var dimension in rowShape)
            {
                elements = dimension < 0 ? -1 : elements * dimension;
                if (elements < 0 || elements > MaxFeatures)
                {
                    break;
                }
            }

            var perElement = elements is > 0 and <= MaxFeatures;
            var continuous = spec.DataType is TensorDataType.Fp16 or TensorDataType.Bf16 or TensorDataType.Fp32 or TensorDataType.Fp64;
            var count = perElement ? (int)elements : 1;
            inputs.Add(new DriftInput(spec.Name, i, spec.DataType, perElement, continuous)
            {
                Features = [.. Enumerable.Range(0, count).Select(_ => continuous ? (FeatureSketch)new ContinuousSketch() : new CategoricalSketch())],
            });
        }

        return [.. inputs];
    }

    /// <summary>
    /// Copies the values this input gives of the first <paramref name="rows"/> rows of <paramref name="tensor"/>
    /// (<paramref name="batched"/>: dimension 0 is the batch), row after row.
    /// </summary>
    public double[] Copy(PooledTensor tensor, int rows, bool batched)
    {
        var rowElements = batched ? tensor.ElementCount / Math.Max(1, tensor.Shape[0]) : tensor.ElementCount;
        var take = (int)Math.Min(rowElements, PerElement ? Features.Length : MaxFeatures);
        if (take <= 0)
        {
            return [];
        }

        var stride = rowElements / take;
        var values = new double[rows * take];
        var span = tensor.Span;
        for (var row = 0; row < rows; row++)
        {
            for (var k = 0; k < take; k++)
            {
                values[(row * take) + k] = Read(span, (row * rowElements) + (k * stride));
            }
        }

        return values;
    }

    // Element i of a little-endian, densely packed tensor, as a double.
    private double Read(ReadOnlySpan<byte> span, long i)
    {
        var at = checked((int)(i * DataType.ElementSize()));
        return DataType switch
        {
            TensorDataType.Bool or TensorDataType.UInt8 => span[at],
            TensorDataType.Int8 => (sbyte)span[at],
            TensorDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(span[at..]),
            TensorDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(span[at..]),
            TensorDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(span[at..]),
            TensorDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(span[at..]),
            TensorDataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(span[at..]),
            TensorDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(span[at..]),
            TensorDataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(span[at..]),
            TensorDataType.Bf16 => BFloat16Bits.ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(span[at..])),
            TensorDataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(span[at..]),
            TensorDataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(span[at..]),
            _ => 0,
        };
    }
}
