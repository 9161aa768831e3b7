using System.Buffers;

namespace ServingGateway.Inference.Tensors;

/// <summary>
/// Tensors: pooled tensors, data types, shapes and signatures. A named tensor whose bytes live in a buffer rented from <see cref="ArrayPool{T}.Shared"/>.
/// </summary>
/// <remarks>
/// Layout: fixed-size types are little-endian, row-major, densely packed. <see cref="TensorDataType.Bytes"/>
/// holds each element as a 4-byte little-endian length followed by its bytes, the layout of the
/// OIP binary tensor data extension, so binary requests and responses copy it as is.
/// Ownership: whoever creates a <see cref="PooledTensor"/> disposes it, which returns the buffer.
/// </remarks>
internal sealed class PooledTensor : IDisposable
{
    private byte[]? _buffer;

    private PooledTensor(string name, TensorDataType dataType, long[] shape, long elementCount, byte[] buffer, int length)
    {
        Name = name;
        DataType = dataType;
        Shape = shape;
        ElementCount = elementCount;
        _buffer = buffer;
        Length = length;
    }

    /// <summary>The tensor's name, as the model names it.</summary>
    public string Name { get; }

    /// <summary>The tensor's datatype.</summary>
    public TensorDataType DataType { get; }

    /// <summary>The tensor's shape; every dimension is known (no -1).</summary>
    public long[] Shape { get; }

    /// <summary>The number of elements: the product of <see cref="Shape"/>.</summary>
    public long ElementCount { get; }

    /// <summary>The number of bytes in use.</summary>
    public int Length { get; private set; }

    /// <summary>The tensor's bytes.</summary>
    public Span<byte> Span => Buffer.AsSpan(0, Length);

    /// <summary>The tensor's bytes.</summary>
    public Memory<byte> Memory => Buffer.AsMemory(0, Length);

    /// <summary>The whole rented buffer, at least <see cref="Length"/> bytes and never empty, so it can always be pinned to a non-null address.</summary>
    public byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(PooledTensor));

    /// <summary>Rents a buffer of <paramref name="byteLength"/> bytes (contents undefined).</summary>
    public static PooledTensor Rent(string name, TensorDataType dataType, long[] shape, long elementCount, int byteLength)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(byteLength, 1));
        return new PooledTensor(name, dataType, shape, elementCount, buffer, byteLength);
    }

    /// <summary>Shortens the used length; for BYTES tensors whose exact size is known only after decoding.</summary>
    public void Truncate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
