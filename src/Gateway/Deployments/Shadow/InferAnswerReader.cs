using System.Buffers.Binary;
using System.Text.Json;

namespace ServingGateway.Deployments.Shadow;

/// <summary>
/// Reads the outputs of an Open Inference Protocol infer answer (the node's InferResponseWriter format): the JSON
/// <c>outputs[]</c> with their <c>data</c> (flat or nested; non-finite floats as the strings "NaN", "Infinity",
/// "-Infinity"), and, when the answer carries <c>Inference-Header-Content-Length</c>, the raw bytes of each output
/// whose <c>parameters.binary_data_size</c> is set, in the order of the outputs. The gateway's only reader of answers
/// (the node's readers decode requests into pooled tensors against a signature; the load tool reads no answers).
/// </summary>
internal static class InferAnswerReader
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 72 };

    /// <summary>The outputs of <paramref name="body"/> by name.</summary>
    /// <param name="body">The whole answer: the JSON, then any binary outputs.</param>
    /// <param name="headerLength">The answer's Inference-Header-Content-Length: the JSON's length; null when the answer is JSON only.</param>
    /// <exception cref="InferAnswerFormatException">The answer is not an infer answer, or its binary part does not match its JSON.</exception>
    public static IReadOnlyDictionary<string, InferAnswerOutput> Read(ReadOnlySpan<byte> body, int? headerLength)
    {
        if (headerLength is { } length && (length < 0 || length > body.Length))
        {
            throw new InferAnswerFormatException($"Inference-Header-Content-Length {length} is outside the body's {body.Length} bytes");
        }

        var json = headerLength is { } jsonLength ? body[..jsonLength] : body;
        var binary = headerLength is { } start ? body[start..] : [];
        var headers = new List<Header>();
        try
        {
            var reader = new Utf8JsonReader(json, Options);
            Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject, "the answer is not a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("outputs"u8))
                {
                    Expect(reader.Read() && reader.TokenType == JsonTokenType.StartArray, "\"outputs\" is not an array");
                    while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                    {
                        headers.Add(ReadOutput(ref reader));
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException ex)
        {
            throw new InferAnswerFormatException("the answer's JSON is malformed: " + ex.Message);
        }

        var outputs = new Dictionary<string, InferAnswerOutput>(StringComparer.Ordinal);
        var at = 0;
        foreach (var header in headers)
        {
            InferAnswerOutput output;
            if (header.BinarySize is { } size)
            {
                Expect(size <= binary.Length - at, $"output '{header.Name}' has binary_data_size {size} but only {binary.Length - at} bytes are left");
                output = Decode(header, binary.Slice(at, (int)size));
                at += (int)size;
            }
            else
            {
                Expect(header.Data is not null, $"output '{header.Name}' has neither \"data\" nor binary_data_size");
                output = header.Data!;
            }

            Expect(outputs.TryAdd(header.Name, output), $"output '{header.Name}' appears twice");
        }

        Expect(at == binary.Length, $"{binary.Length - at} bytes follow the outputs' binary data");
        return outputs;
    }

    private static Header ReadOutput(ref Utf8JsonReader reader)
    {
        string? name = null, dataType = null;
        long[]? shape = null;
        long? binarySize = null;
        var dataStart = -1L;
        var dataReader = default(Utf8JsonReader);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                name = ReadString(ref reader, "name");
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                dataType = ReadString(ref reader, "datatype");
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                Expect(reader.Read() && reader.TokenType == JsonTokenType.StartArray, "an output's \"shape\" is not an array");
                var dims = new List<long>();
                while (reader.Read() && reader.TokenType == JsonTokenType.Number)
                {
                    Expect(reader.TryGetInt64(out var dim) && dim >= 0, "an output's shape holds a dimension that is not a non-negative integer");
                    dims.Add(dim);
                }

                Expect(reader.TokenType == JsonTokenType.EndArray, "an output's shape holds a dimension that is not a number");
                shape = [.. dims];
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                // Decoded once the datatype and shape are known (they may come after it).
                reader.Read();
                dataReader = reader;
                dataStart = reader.TokenStartIndex;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject, "an output's \"parameters\" is not an object");
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("binary_data_size"u8))
                    {
                        Expect(reader.Read() && reader.TryGetInt64(out var size) && size >= 0, "binary_data_size is not a non-negative integer");
                        binarySize = reader.GetInt64();
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        Expect(name is not null, "an output has no name");
        Expect(dataType is not null, $"output '{name}' has no datatype");
        Expect(shape is not null, $"output '{name}' has no shape");
        Expect(ElementSize(dataType!) != 0, $"output '{name}' has the unknown datatype '{dataType}'");
        var header = new Header(name!, dataType!, shape!, binarySize);
        if (dataStart >= 0)
        {
            Expect(binarySize is null, $"output '{name}' has both \"data\" and binary_data_size");
            header.Data = DecodeJson(header, ref dataReader);
        }

        return header;
    }

    private static InferAnswerOutput DecodeJson(Header header, ref Utf8JsonReader reader)
    {
        Expect(reader.TokenType == JsonTokenType.StartArray, $"output '{header.Name}' has \"data\" that is not an array");
        var count = ElementCount(header);
        if (header.DataType == "BYTES")
        {
            var bytes = new List<byte>();
            var strings = 0L;
            ReadElements(ref reader, header, (ref Utf8JsonReader r) =>
            {
                Expect(r.TokenType == JsonTokenType.String, $"output '{header.Name}' holds a BYTES element that is not a string");
                var text = r.GetString()!;
                var utf8 = System.Text.Encoding.UTF8.GetBytes(text);
                Span<byte> prefix = stackalloc byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(prefix, utf8.Length);
                bytes.AddRange(prefix);
                bytes.AddRange(utf8);
                strings++;
            });
            Expect(strings == count, $"output '{header.Name}' has shape of {count} elements but its data holds {strings}");
            return new InferAnswerOutput(header.DataType, header.Shape, [], [.. bytes]);
        }

        var values = new List<double>();
        ReadElements(ref reader, header, (ref Utf8JsonReader r) => values.Add(ReadNumber(ref r, header)));
        Expect(values.Count == count, $"output '{header.Name}' has shape of {count} elements but its data holds {values.Count}");
        return new InferAnswerOutput(header.DataType, header.Shape, [.. values]);
    }

    private delegate void ElementReader(ref Utf8JsonReader reader);

    // Reads the array under the reader (on its StartArray), nested or flat, calling read on each scalar.
    private static void ReadElements(ref Utf8JsonReader reader, Header header, ElementReader read)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.StartArray)
            {
                ReadElements(ref reader, header, read);
            }
            else
            {
                Expect(reader.TokenType != JsonTokenType.StartObject, $"output '{header.Name}' holds an object in its data");
                read(ref reader);
            }
        }
    }

    // The element as the model produced it: FP32/BF16 parsed as float and FP16 as half (the writer prints their shortest form).
    private static double ReadNumber(ref Utf8JsonReader reader, Header header)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.True:
                return 1;
            case JsonTokenType.False:
                return 0;
            case JsonTokenType.String when reader.ValueTextEquals("NaN"u8):
                return double.NaN;
            case JsonTokenType.String when reader.ValueTextEquals("Infinity"u8):
                return double.PositiveInfinity;
            case JsonTokenType.String when reader.ValueTextEquals("-Infinity"u8):
                return double.NegativeInfinity;
            case JsonTokenType.Number:
                switch (header.DataType)
                {
                    case "FP32" or "BF16" when reader.TryGetSingle(out var single):
                        return single;
                    case "FP16" when reader.TryGetDouble(out var half):
                        return (double)(Half)half;
                    case "UINT64" when reader.TryGetUInt64(out var unsigned):
                        return unsigned;
                    case "INT64" when reader.TryGetInt64(out var signed):
                        return signed;
                    default:
                        if (reader.TryGetDouble(out var value))
                        {
                            return value;
                        }

                        break;
                }

                break;
        }

        throw new InferAnswerFormatException($"output '{header.Name}' holds an element that is not a {header.DataType} value");
    }

    private static InferAnswerOutput Decode(Header header, ReadOnlySpan<byte> data)
    {
        var count = ElementCount(header);
        if (header.DataType == "BYTES")
        {
            var elements = 0L;
            for (var at = 0; at < data.Length; elements++)
            {
                Expect(data.Length - at >= 4, $"output '{header.Name}' has a BYTES element cut short");
                var length = BinaryPrimitives.ReadInt32LittleEndian(data[at..]);
                Expect(length >= 0 && length <= data.Length - at - 4, $"output '{header.Name}' has a BYTES element cut short");
                at += 4 + length;
            }

            Expect(elements == count, $"output '{header.Name}' has shape of {count} elements but its binary data holds {elements}");
            return new InferAnswerOutput(header.DataType, header.Shape, [], data.ToArray());
        }

        var size = ElementSize(header.DataType);
        Expect(data.Length == count * size, $"output '{header.Name}' has {data.Length} bytes of binary data where shape and datatype need {count * size}");
        var values = new double[count];
        for (var i = 0; i < values.Length; i++)
        {
            var element = data.Slice(i * size, size);
            values[i] = header.DataType switch
            {
                "BOOL" => element[0] != 0 ? 1 : 0,
                "UINT8" => element[0],
                "INT8" => (sbyte)element[0],
                "UINT16" => BinaryPrimitives.ReadUInt16LittleEndian(element),
                "INT16" => BinaryPrimitives.ReadInt16LittleEndian(element),
                "UINT32" => BinaryPrimitives.ReadUInt32LittleEndian(element),
                "INT32" => BinaryPrimitives.ReadInt32LittleEndian(element),
                "UINT64" => BinaryPrimitives.ReadUInt64LittleEndian(element),
                "INT64" => BinaryPrimitives.ReadInt64LittleEndian(element),
                "FP16" => (double)BinaryPrimitives.ReadHalfLittleEndian(element),
                "BF16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(element) << 16),
                "FP32" => BinaryPrimitives.ReadSingleLittleEndian(element),
                _ => BinaryPrimitives.ReadDoubleLittleEndian(element),
            };
        }

        return new InferAnswerOutput(header.DataType, header.Shape, values);
    }

    private static long ElementCount(Header header)
    {
        var count = 1L;
        foreach (var dim in header.Shape)
        {
            count = dim == 0 ? 0 : count <= int.MaxValue / dim ? count * dim : int.MaxValue + 1L;
        }

        Expect(count <= int.MaxValue, $"output '{header.Name}' has a shape of more than {int.MaxValue} elements");
        return count;
    }

    // Bytes per element of an OIP datatype; -1 for BYTES (variable), 0 for a name that is none.
    private static int ElementSize(string dataType) => dataType switch
    {
        "BOOL" or "UINT8" or "INT8" => 1,
        "UINT16" or "INT16" or "FP16" or "BF16" => 2,
        "UINT32" or "INT32" or "FP32" => 4,
        "UINT64" or "INT64" or "FP64" => 8,
        "BYTES" => -1,
        _ => 0,
    };

    private static string ReadString(ref Utf8JsonReader reader, string what)
    {
        Expect(reader.Read() && reader.TokenType == JsonTokenType.String, $"an output's \"{what}\" is not a string");
        return reader.GetString()!;
    }

    private static void Expect(bool condition, string message)
    {
        if (!condition)
        {
            throw new InferAnswerFormatException(message);
        }
    }

    private sealed class Header(string name, string dataType, long[] shape, long? binarySize)
    {
        public string Name { get; } = name;

        public string DataType { get; } = dataType;

        public long[] Shape { get; } = shape;

        public long? BinarySize { get; } = binarySize;

        public InferAnswerOutput? Data { get; set; }
    }
}
