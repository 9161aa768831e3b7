using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Protocol;

/// <summary>
/// Decodes the "data" array of an OIP JSON tensor, flat or nested, straight from UTF-8 into a pooled tensor.
/// </summary>
/// <remarks>
/// Flat data lists every element in row-major order. Nested data mirrors the shape exactly: an array
/// of shape[0] arrays of shape[1] ... of scalars. Anything in between is refused, as are numbers that do
/// not fit the datatype, strings in numeric tensors ("NaN", "Infinity") and non-strings in BYTES tensors.
/// </remarks>
internal static class TensorJsonDecoder
{
    /// <summary>
    /// Decodes <paramref name="dataJson"/> (the JSON array, brackets included) into <paramref name="tensor"/>,
    /// whose buffer holds room for every element (for BYTES: the JSON length plus 4 bytes per element).
    /// </summary>
    public static void Decode(ReadOnlySpan<byte> dataJson, PooledTensor tensor, JsonReaderOptions options)
    {
        var reader = new Utf8JsonReader(dataJson, options);
        reader.Read(); // StartArray: the caller recorded the range of an array.
        var sink = new ElementSink(tensor);

        var probe = reader;
        probe.Read();
        if (probe.TokenType == JsonTokenType.StartArray)
        {
            if (tensor.Shape.Length == 0)
            {
                throw Fail(tensor, "is a scalar (shape []) but its data is nested");
            }

            ReadNested(ref reader, tensor.Shape, 0, ref sink);
        }
        else
        {
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject)
                {
                    throw Fail(tensor, $"mixes nested arrays into flat data at element {sink.Index}");
                }

                sink.Write(ref reader);
            }
        }

        if (sink.Index != tensor.ElementCount)
        {
            throw Fail(tensor, $"has shape {TensorShape.Format(tensor.Shape)} ({tensor.ElementCount} elements) but its data holds {sink.Index}");
        }

        tensor.Truncate(sink.Offset);
    }

    // Called with the reader on the StartArray of nesting level 'level'.
    private static void ReadNested(ref Utf8JsonReader reader, long[] shape, int level, ref ElementSink sink)
    {
        var count = 0L;
        var leaf = level == shape.Length - 1;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (count == shape[level])
            {
                throw Fail(sink.Tensor, $"has more than {shape[level]} entries at nesting level {level + 1} (shape {TensorShape.Format(shape)})");
            }

            if (leaf)
            {
                if (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject)
                {
                    throw Fail(sink.Tensor, $"is nested deeper than its rank {shape.Length}");
                }

                sink.Write(ref reader);
            }
            else
            {
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw Fail(sink.Tensor, $"has a scalar at nesting level {level + 1} where shape {TensorShape.Format(shape)} needs an array");
                }

                ReadNested(ref reader, shape, level + 1, ref sink);
            }

            count++;
        }

        if (count != shape[level])
        {
            throw Fail(sink.Tensor, $"has {count} entries at nesting level {level + 1} where shape {TensorShape.Format(shape)} needs {shape[level]}");
        }
    }

    private static InferenceException Fail(PooledTensor tensor, string what) =>
        InferenceException.BadRequest($"input '{tensor.Name}' {what}");

    private ref struct ElementSink
    {
        private readonly Span<byte> _dest;
        private readonly TensorDataType _type;
        private readonly int _size;

        public ElementSink(PooledTensor tensor)
        {
            Tensor = tensor;
            _dest = tensor.Span;
            _type = tensor.DataType;
            _size = tensor.DataType.ElementSize();
        }

        public PooledTensor Tensor { get; }

        public long Index { get; private set; }

        public int Offset { get; private set; }

        public void Write(ref Utf8JsonReader reader)
        {
            if (Index == Tensor.ElementCount)
            {
                throw Fail(Tensor, $"has shape {TensorShape.Format(Tensor.Shape)} ({Tensor.ElementCount} elements) but its data holds more");
            }

            if (_type == TensorDataType.Bytes)
            {
                WriteString(ref reader);
            }
            else
            {
                if (!TryWriteNumber(ref reader, _dest.Slice(Offset, _size)))
                {
                    throw Fail(Tensor, $"element {Index} is {Describe(ref reader)}, not a valid {_type.ToOipName()} value");
                }

                Offset += _size;
            }

            Index++;
        }

        private void WriteString(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                throw Fail(Tensor, $"element {Index} is {Describe(ref reader)}, but BYTES elements are JSON strings");
            }

            // Unescaped UTF-8 is never longer than its JSON text, so the room reserved per element suffices.
            var written = reader.CopyString(_dest[(Offset + 4)..]);
            BinaryPrimitives.WriteInt32LittleEndian(_dest.Slice(Offset, 4), written);
            Offset += 4 + written;
        }

        private readonly bool TryWriteNumber(ref Utf8JsonReader reader, Span<byte> dest)
        {
            if (_type == TensorDataType.Bool)
            {
                if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                {
                    return false;
                }

                dest[0] = reader.TokenType == JsonTokenType.True ? (byte)1 : (byte)0;
                return true;
            }

            if (reader.TokenType != JsonTokenType.Number)
            {
                return false;
            }

            switch (_type)
            {
                case TensorDataType.UInt8:
                    return reader.TryGetByte(out dest[0]);
                case TensorDataType.Int8:
                    return reader.TryGetSByte(out var i8) && Put(dest, i8);
                case TensorDataType.UInt16:
                    return reader.TryGetUInt16(out var u16) && Put(dest, u16);
                case TensorDataType.Int16:
                    return reader.TryGetInt16(out var i16) && Put(dest, i16);
                case TensorDataType.UInt32:
                    return reader.TryGetUInt32(out var u32) && Put(dest, u32);
                case TensorDataType.Int32:
                    return reader.TryGetInt32(out var i32) && Put(dest, i32);
                case TensorDataType.UInt64:
                    return reader.TryGetUInt64(out var u64) && Put(dest, u64);
                case TensorDataType.Int64:
                    return reader.TryGetInt64(out var i64) && Put(dest, i64);
                case TensorDataType.Fp32:
                    return reader.TryGetSingle(out var f32) && float.IsFinite(f32) && Put(dest, f32);
                case TensorDataType.Fp64:
                    return reader.TryGetDouble(out var f64) && double.IsFinite(f64) && Put(dest, f64);
                case TensorDataType.Fp16:
                    if (!reader.TryGetDouble(out var h) || !double.IsFinite(h))
                    {
                        return false;
                    }

                    var half = (Half)h;
                    return Half.IsFinite(half) && Put(dest, half);
                case TensorDataType.Bf16:
                    if (!reader.TryGetSingle(out var b) || !float.IsFinite(b))
                    {
                        return false;
                    }

                    var bits = BFloat16Bits.FromSingle(b);
                    return BFloat16Bits.IsFinite(bits) && Put(dest, bits);
                default:
                    return false;
            }
        }

        private static bool Put<T>(Span<byte> dest, T value)
            where T : unmanaged
        {
            MemoryMarshal.Write(dest, in value);
            return true;
        }

        private static string Describe(ref Utf8JsonReader reader)
        {
            var text = reader.HasValueSequence ? "" : Encoding.UTF8.GetString(reader.ValueSpan[..Math.Min(reader.ValueSpan.Length, 40)]);
            return reader.TokenType switch
            {
                JsonTokenType.String => $"the string \"{text}\"",
                JsonTokenType.Number => $"the number {text}",
                JsonTokenType.True => "true",
                JsonTokenType.False => "false",
                JsonTokenType.Null => "null",
                _ => reader.TokenType.ToString(),
            };
        }
    }
}
