using System.Text;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Caching;

/// <summary>
/// A prediction held by the cache: each output's name, datatype, shape and bytes, in response order.
/// Immutable; every hit copies it into the caller's own pooled tensors.
/// </summary>
internal sealed class CachedPrediction
{
    private const byte FormatVersion = 1;

    private CachedPrediction(Output[] outputs)
    {
        Outputs = outputs;
        Size = outputs.Sum(o => (long)o.Data.Length);
        Footprint = ManagedLayout.Object(2) + ManagedLayout.Array(outputs.Length, 8)
            + outputs.Sum(o => ManagedLayout.Object(5) + ManagedLayout.String(o.Name.Length) + ManagedLayout.Array(o.Shape.Length, 8) + ManagedLayout.Array(o.Data.Length, 1));
    }

    /// <summary>The outputs, in the order the request asked for them.</summary>
    public Output[] Outputs { get; }

    /// <summary>The bytes of output data.</summary>
    public long Size { get; }

    /// <summary>The managed memory the prediction takes: its objects and arrays with their headers (counting each output's name, though it may be shared).</summary>
    public long Footprint { get; }

    /// <summary>Copies computed outputs into a cacheable prediction.</summary>
    public static CachedPrediction From(PooledTensor[] outputs) =>
        new([.. outputs.Select(o => new Output(o.Name, o.DataType, (long[])o.Shape.Clone(), o.ElementCount, o.Span.ToArray()))]);

    /// <summary>Copies the prediction into pooled tensors the caller owns.</summary>
    public PooledTensor[] ToPooled()
    {
        var tensors = new PooledTensor[Outputs.Length];
        for (var i = 0; i < tensors.Length; i++)
        {
            var output = Outputs[i];
            tensors[i] = PooledTensor.Rent(output.Name, output.DataType, (long[])output.Shape.Clone(), output.ElementCount, output.Data.Length);
            output.Data.CopyTo(tensors[i].Span);
        }

        return tensors;
    }

    /// <summary>
    /// Whether this prediction answers <paramref name="request"/>: the outputs it asked for, in its order,
    /// with the datatypes and ranks of the model's <paramref name="signature"/>, every fixed dimension as
    /// declared and the batch dimension the request's. An entry from a shared store that does not fit is
    /// not served (a stale format, another model's entry, or tampering).
    /// </summary>
    public bool Fits(InferRequest request, ModelSignature signature)
    {
        if (Outputs.Length != request.Outputs.Length)
        {
            return false;
        }

        for (var i = 0; i < Outputs.Length; i++)
        {
            var output = Outputs[i];
            var spec = signature.Outputs[request.Outputs[i].Index];
            if (output.Name != spec.Name || output.DataType != spec.DataType || output.Shape.Length != spec.Shape.Length)
            {
                return false;
            }

            for (var d = 0; d < spec.Shape.Length; d++)
            {
                var expected = d == 0 && signature.MaxBatchSize > 0 ? request.BatchSize : spec.Shape[d];
                if (expected >= 0 && output.Shape[d] != expected)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>
    /// The compact binary form kept in Redis: a version byte, the output count, then per output its name
    /// (length-prefixed UTF-8), datatype, rank, dimensions and data (length-prefixed). Little-endian.
    /// </summary>
    public byte[] Serialize()
    {
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream, Encoding.UTF8);
        writer.Write(FormatVersion);
        writer.Write((ushort)Outputs.Length);
        foreach (var output in Outputs)
        {
            writer.Write(output.Name);
            writer.Write((byte)output.DataType);
            writer.Write((byte)output.Shape.Length);
            foreach (var dim in output.Shape)
            {
                writer.Write(dim);
            }

            writer.Write(output.Data.Length);
            writer.Write(output.Data);
        }

        writer.Flush();
        return stream.ToArray();
    }

    /// <summary>Reads <see cref="Serialize"/>'s form; null for anything else (another version, corruption).</summary>
    public static CachedPrediction? Deserialize(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            using var stream = new MemoryStream(bytes.ToArray(), writable: false);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            if (reader.ReadByte() != FormatVersion)
            {
                return null;
            }

            var outputs = new Output[reader.ReadUInt16()];
            for (var i = 0; i < outputs.Length; i++)
            {
                var name = reader.ReadString();
                var type = (TensorDataType)reader.ReadByte();
                var shape = new long[reader.ReadByte()];
                for (var d = 0; d < shape.Length; d++)
                {
                    shape[d] = reader.ReadInt64();
                }

                var length = reader.ReadInt32();
                if (length < 0 || length > stream.Length - stream.Position)
                {
                    return null;
                }

                var data = reader.ReadBytes(length);
                if (data.Length != length || type is TensorDataType.Invalid or > TensorDataType.Bytes
                    || !TensorShape.TryGetElementCount(shape, long.MaxValue, out var count)
                    || (type != TensorDataType.Bytes && count * type.ElementSize() != length))
                {
                    return null;
                }

                outputs[i] = new Output(name, type, shape, count, data);
            }

            return stream.Position == stream.Length ? new CachedPrediction(outputs) : null;
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or FormatException or ArgumentException or OverflowException)
        {
            return null; // a bad length or string: unreadable, never an error for the request
        }
    }

    /// <summary>One stored output.</summary>
    internal sealed record Output(string Name, TensorDataType DataType, long[] Shape, long ElementCount, byte[] Data);
}
