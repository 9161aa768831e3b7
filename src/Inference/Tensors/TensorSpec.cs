using System.Text;

namespace ServingGateway.Inference.Tensors;

/// <summary>
/// One input or output of a model as its metadata describes it.
/// </summary>
internal sealed class TensorSpec
{
    public TensorSpec(string name, TensorDataType dataType, long[] shape, string?[] symbolicDims)
    {
        Name = name;
        Utf8Name = Encoding.UTF8.GetBytes(name);
        DataType = dataType;
        Shape = shape;
        SymbolicDims = symbolicDims;
    }

    /// <summary>The name the model gives the tensor.</summary>
    public string Name { get; }

    /// <summary><see cref="Name"/> as UTF-8, for comparing with request JSON without allocating.</summary>
    public byte[] Utf8Name { get; }

    /// <summary>The element type.</summary>
    public TensorDataType DataType { get; }

    /// <summary>The shape; -1 marks a dynamic dimension.</summary>
    public long[] Shape { get; }

    /// <summary>For each dimension, the symbolic name the model gives it ("batch", "sequence"), or null.</summary>
    public string?[] SymbolicDims { get; }

    /// <summary>
    /// A pooled tensor of zeros of this spec's shape (the caller's to dispose), the dynamic first dimension
    /// <paramref name="firstDimension"/> and every other dynamic dimension 1; a BYTES element is an empty string.
    /// </summary>
    public PooledTensor RentZeros(long firstDimension)
    {
        var shape = Shape.Select((d, axis) => d >= 0 ? d : axis == 0 ? firstDimension : 1L).ToArray();
        TensorShape.TryGetElementCount(shape, long.MaxValue, out var count);
        var bytes = DataType == TensorDataType.Bytes ? 4 * count : count * DataType.ElementSize();
        var tensor = PooledTensor.Rent(Name, DataType, shape, count, checked((int)bytes));
        tensor.Span.Clear();
        return tensor;
    }
}
