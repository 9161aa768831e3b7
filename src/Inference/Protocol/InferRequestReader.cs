using System.Buffers.Binary;
using System.Text.Json;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Protocol;

/// <summary>
/// Protocol: the OIP codec (this reader, <see cref="InferResponseWriter"/>) and its one typed error,
/// <see cref="InferenceException"/>. Reads an OIP (KServe V2) inference request, JSON or with the binary tensor data extension, and
/// validates it against the model before anything is allocated for its tensors.
/// </summary>
/// <remarks>
/// Three passes over the header, none over the data twice: the JSON structure is read and each
/// "data" array is only located; then shapes, datatypes and sizes are checked against the model;
/// only then are pooled buffers rented and the data decoded into them.
/// </remarks>
internal static class InferRequestReader
{
    /// <summary>The deepest JSON nesting accepted; deeper requests get a 400.</summary>
    public const int MaxJsonDepth = 64;

    /// <summary>Largest tensor accepted, in bytes: what one pooled array can hold.</summary>
    public const int MaxTensorBytes = int.MaxValue - 64;

    /// <summary>The default of Inference:MaxRank: the most dimensions a request's shape may have.</summary>
    public const int DefaultMaxRank = 8;

    /// <summary>The longest queue timeout a request may ask for: one day, in microseconds (timers hold at most ~49 days).</summary>
    public const long MaxTimeoutMicroseconds = 86_400_000_000;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxJsonDepth };

    /// <summary>
    /// Reads <paramref name="body"/>. With <paramref name="headerLength"/> set (the
    /// Inference-Header-Content-Length header), the first that many bytes are JSON and the rest is
    /// binary tensor data; otherwise the whole body is JSON.
    /// </summary>
    /// <exception cref="InferenceException">400 for anything malformed or not fitting the model.</exception>
    /// <param name="body">The request body.</param>
    /// <param name="headerLength">The Inference-Header-Content-Length header, if sent.</param>
    /// <param name="signature">The model's inputs and outputs.</param>
    /// <param name="maxRank">The most dimensions a shape may have (Inference:MaxRank); longer shapes are refused while read.</param>
    public static InferRequest Read(ReadOnlySpan<byte> body, int? headerLength, ModelSignature signature, int maxRank = DefaultMaxRank)
    {
        if (body.IsEmpty)
        {
            throw InferenceException.BadRequest("the request body is empty; send an OIP inference request as JSON");
        }

        ReadOnlySpan<byte> json = body;
        ReadOnlySpan<byte> binary = default;
        if (headerLength is { } length)
        {
            if (length <= 0 || length > body.Length)
            {
                throw InferenceException.BadRequest($"Inference-Header-Content-Length is {length} but the body has {body.Length} bytes");
            }

            json = body[..length];
            binary = body[length..];
        }

        JsonUtf8.EnsureValid(json);
        Header header;
        try
        {
            header = ReadHeader(json, signature, maxRank);
        }
        catch (JsonException ex)
        {
            throw InferenceException.BadRequest($"malformed JSON: {ex.Message}");
        }

        var batchSize = Validate(header, signature, headerLength is not null, binary.Length);
        return Decode(header, signature, json, binary, batchSize);
    }

    private static Header ReadHeader(ReadOnlySpan<byte> json, ModelSignature signature, int maxRank)
    {
        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw InferenceException.BadRequest("the request must be a JSON object with \"inputs\"");
        }

        var header = new Header(signature.Inputs.Length);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                Expect(ref reader, JsonTokenType.String, "\"id\" must be a string");
                header.Id = reader.GetString();
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                ReadRequestParameters(ref reader, header);
            }
            else if (reader.ValueTextEquals("inputs"u8))
            {
                ReadInputs(ref reader, signature, header, maxRank);
            }
            else if (reader.ValueTextEquals("outputs"u8))
            {
                ReadOutputs(ref reader, signature, header);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        // Anything after the top-level object makes Read throw a JsonException.
        while (reader.Read())
        {
        }

        return header;
    }

    private static void ReadRequestParameters(ref Utf8JsonReader reader, Header header)
    {
        Expect(ref reader, JsonTokenType.StartObject, "\"parameters\" must be an object");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("binary_data_output"u8))
            {
                header.BinaryDataOutput = ReadBool(ref reader, "parameter \"binary_data_output\"");
            }
            else if (reader.ValueTextEquals("timeout"u8))
            {
                header.TimeoutMicroseconds = ReadNonNegative(ref reader, "parameter \"timeout\" (microseconds)", MaxTimeoutMicroseconds);
            }
            else if (reader.ValueTextEquals("priority"u8))
            {
                header.Priority = ReadNonNegative(ref reader, "parameter \"priority\"", long.MaxValue);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static void ReadInputs(ref Utf8JsonReader reader, ModelSignature signature, Header header, int maxRank)
    {
        Expect(ref reader, JsonTokenType.StartArray, "\"inputs\" must be an array");
        header.SawInputs = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw InferenceException.BadRequest("each entry of \"inputs\" must be an object");
            }

            var input = new InputHeader();
            string? unknownName = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    Expect(ref reader, JsonTokenType.String, "an input's \"name\" must be a string");
                    input.SpecIndex = signature.FindInput(ref reader);
                    if (input.SpecIndex < 0)
                    {
                        unknownName = InferenceException.Clip(ref reader);
                    }

                    input.HasName = true;
                }
                else if (reader.ValueTextEquals("datatype"u8))
                {
                    Expect(ref reader, JsonTokenType.String, "an input's \"datatype\" must be a string");
                    if (reader.HasValueSequence || !TensorDataTypes.TryParse(reader.ValueSpan, out input.DataType))
                    {
                        throw InferenceException.BadRequest(
                            $"unknown datatype \"{InferenceException.Clip(ref reader)}\"; use one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BF16, BYTES");
                    }
                }
                else if (reader.ValueTextEquals("shape"u8))
                {
                    input.Shape = ReadShape(ref reader, maxRank);
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    Expect(ref reader, JsonTokenType.StartObject, "an input's \"parameters\" must be an object");
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("binary_data_size"u8))
                        {
                            input.BinarySize = ReadNonNegative(ref reader, "parameter \"binary_data_size\"", long.MaxValue);
                        }
                        else
                        {
                            reader.Read();
                            reader.Skip();
                        }
                    }
                }
                else if (reader.ValueTextEquals("data"u8))
                {
                    Expect(ref reader, JsonTokenType.StartArray, "an input's \"data\" must be an array");
                    input.DataStart = checked((int)reader.TokenStartIndex);
                    reader.Skip();
                    input.DataLength = checked((int)reader.BytesConsumed) - input.DataStart;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            Accept(input, unknownName, signature, header);
        }
    }

    private static void Accept(InputHeader input, string? unknownName, ModelSignature signature, Header header)
    {
        if (!input.HasName)
        {
            throw InferenceException.BadRequest("an input has no \"name\"");
        }

        if (input.SpecIndex < 0)
        {
            throw ShapeCheck.UnknownInput(unknownName, signature);
        }

        var spec = signature.Inputs[input.SpecIndex];
        if (header.Inputs[input.SpecIndex] is not null)
        {
            throw InferenceException.BadRequest($"input '{spec.Name}' is given twice");
        }

        if (input.DataType == TensorDataType.Invalid)
        {
            throw InferenceException.BadRequest($"input '{spec.Name}' has no \"datatype\"");
        }

        if (input.Shape is null)
        {
            throw InferenceException.BadRequest($"input '{spec.Name}' has no \"shape\"");
        }

        if (input.DataStart >= 0 && input.BinarySize >= 0)
        {
            throw InferenceException.BadRequest($"input '{spec.Name}' has both \"data\" and binary_data_size; send one");
        }

        if (input.DataStart < 0 && input.BinarySize < 0)
        {
            throw InferenceException.BadRequest($"input '{spec.Name}' has no \"data\" and no binary_data_size");
        }

        input.Order = header.Count++;
        header.Inputs[input.SpecIndex] = input;
    }

    private static void ReadOutputs(ref Utf8JsonReader reader, ModelSignature signature, Header header)
    {
        Expect(ref reader, JsonTokenType.StartArray, "\"outputs\" must be an array");
        header.Outputs = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw InferenceException.BadRequest("each entry of \"outputs\" must be an object");
            }

            var index = -1;
            bool? binary = null;
            string? name = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    Expect(ref reader, JsonTokenType.String, "an output's \"name\" must be a string");
                    index = signature.FindOutput(ref reader);
                    name = InferenceException.Clip(ref reader);
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    Expect(ref reader, JsonTokenType.StartObject, "an output's \"parameters\" must be an object");
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("binary_data"u8))
                        {
                            binary = ReadBool(ref reader, "parameter \"binary_data\"");
                        }
                        else if (reader.ValueTextEquals("classification"u8))
                        {
                            throw InferenceException.BadRequest("the classification extension is not supported; request the raw output");
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

            if (name is null)
            {
                throw InferenceException.BadRequest("an output has no \"name\"");
            }

            if (index < 0)
            {
                throw ShapeCheck.UnknownOutput(name, signature);
            }

            if (header.Outputs.Exists(o => o.Index == index))
            {
                throw InferenceException.BadRequest($"output '{name}' is requested twice");
            }

            header.Outputs.Add((index, binary));
        }
    }

    private static long[] ReadShape(ref Utf8JsonReader reader, int maxRank)
    {
        Expect(ref reader, JsonTokenType.StartArray, "an input's \"shape\" must be an array of integers");
        Span<long> dims = stackalloc long[maxRank];
        var rank = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var dim))
            {
                throw InferenceException.BadRequest("an input's \"shape\" must be an array of integers");
            }

            if (dim < 0)
            {
                throw ShapeCheck.NegativeDimension(dim);
            }

            if (rank == maxRank)
            {
                throw ShapeCheck.TooManyDimensions(maxRank);
            }

            dims[rank++] = dim;
        }

        return dims[..rank].ToArray();
    }

    // Checks every input against the model; returns the batch size.
    private static long Validate(Header header, ModelSignature signature, bool hasBinarySection, int binaryLength)
    {
        if (!header.SawInputs)
        {
            throw InferenceException.BadRequest("the request has no \"inputs\"");
        }

        if (ShapeCheck.Missing(signature, header.Inputs) is { } missing)
        {
            throw missing;
        }

        var check = new ShapeCheck(signature);
        var binaryTotal = 0L;
        for (var i = 0; i < signature.Inputs.Length; i++)
        {
            var spec = signature.Inputs[i];
            var input = header.Inputs[i]!;
            var shape = input.Shape!;
            var count = check.Input(i, input.DataType, shape);
            var size = spec.DataType.ElementSize();
            input.ElementCount = count;
            if (input.BinarySize >= 0)
            {
                if (!hasBinarySection)
                {
                    throw InferenceException.BadRequest(
                        $"input '{spec.Name}' has binary_data_size but the request has no Inference-Header-Content-Length header");
                }

                var bytesOk = spec.DataType == TensorDataType.Bytes
                    ? input.BinarySize >= 4 * count
                    : input.BinarySize == count * size;
                if (!bytesOk)
                {
                    throw InferenceException.BadRequest(
                        $"input '{spec.Name}' has binary_data_size {input.BinarySize}, which does not fit shape {TensorShape.Format(shape)} of {spec.DataType.ToOipName()}");
                }

                // Sizes are longs from the caller: a sum that would wrap is refused, never wrapped to a small number.
                if (input.BinarySize > long.MaxValue - binaryTotal)
                {
                    throw InferenceException.BadRequest(
                        $"the binary_data_size values add up to more than {long.MaxValue} bytes but {binaryLength} bytes follow the JSON header");
                }

                binaryTotal += input.BinarySize;
            }
            else if (count > input.DataLength)
            {
                // Each JSON element takes at least one byte: refuse before renting anything.
                throw InferenceException.BadRequest(
                    $"input '{spec.Name}' has shape {TensorShape.Format(shape)} ({count} elements) but its data holds at most {input.DataLength}");
            }
        }

        if (binaryTotal != binaryLength)
        {
            throw InferenceException.BadRequest(
                $"the binary_data_size values add up to {binaryTotal} bytes but {binaryLength} bytes follow the JSON header");
        }

        return check.BatchSize;
    }

    private static InferRequest Decode(Header header, ModelSignature signature, ReadOnlySpan<byte> json, ReadOnlySpan<byte> binary, long batchSize)
    {
        var tensors = new PooledTensor[signature.Inputs.Length];
        try
        {
            // Binary data follows in the order the inputs appear in the request. Every input is there once (checked
            // before), so their Order numbers them 0 .. n-1 as they were read: inverted, that is the request's order.
            var binaryOffsets = new long[signature.Inputs.Length];
            Span<int> asSent = tensors.Length <= 64 ? stackalloc int[tensors.Length] : new int[tensors.Length];
            for (var i = 0; i < tensors.Length; i++)
            {
                asSent[header.Inputs[i]!.Order] = i;
            }

            var offset = 0L;
            foreach (var i in asSent)
            {
                var input = header.Inputs[i]!;
                if (input.BinarySize >= 0)
                {
                    binaryOffsets[i] = offset;
                    offset += input.BinarySize;
                }
            }

            for (var i = 0; i < tensors.Length; i++)
            {
                var spec = signature.Inputs[i];
                var input = header.Inputs[i]!;
                var size = spec.DataType.ElementSize();
                if (input.BinarySize >= 0)
                {
                    var bytes = binary.Slice((int)binaryOffsets[i], (int)input.BinarySize);
                    tensors[i] = PooledTensor.Rent(spec.Name, spec.DataType, input.Shape!, input.ElementCount, bytes.Length);
                    bytes.CopyTo(tensors[i].Span);
                    CheckBinary(tensors[i]);
                }
                else
                {
                    var capacity = spec.DataType == TensorDataType.Bytes
                        ? input.DataLength + (4 * input.ElementCount)
                        : input.ElementCount * size;
                    if (capacity > MaxTensorBytes)
                    {
                        throw InferenceException.BadRequest($"input '{spec.Name}' needs {capacity} bytes, more than one tensor can hold ({MaxTensorBytes})");
                    }

                    tensors[i] = PooledTensor.Rent(spec.Name, spec.DataType, input.Shape!, input.ElementCount, (int)capacity);
                    TensorJsonDecoder.Decode(json.Slice(input.DataStart, input.DataLength), tensors[i], ReaderOptions);
                }
            }

            var outputs = new RequestedOutput[header.Outputs?.Count ?? signature.Outputs.Length];
            for (var i = 0; i < outputs.Length; i++)
            {
                outputs[i] = header.Outputs is { } asked
                    ? new RequestedOutput(asked[i].Index, asked[i].Binary ?? header.BinaryDataOutput)
                    : new RequestedOutput(i, header.BinaryDataOutput);
            }

            return new InferRequest(header.Id, tensors, outputs, batchSize)
            {
                TimeoutMicroseconds = header.TimeoutMicroseconds,
                Priority = header.Priority,
            };
        }
        catch
        {
            foreach (var tensor in tensors)
            {
                tensor?.Dispose();
            }

            throw;
        }
    }

    // Binary data is taken as sent, except where ONNX Runtime would misread it.
    internal static void CheckBinary(PooledTensor tensor)
    {
        var data = tensor.Span;
        if (tensor.DataType == TensorDataType.Bool)
        {
            if (data.ContainsAnyExcept((byte)0, (byte)1))
            {
                throw InferenceException.BadRequest($"input '{tensor.Name}' is BOOL but its binary data holds bytes other than 0 and 1");
            }
        }
        else if (tensor.DataType == TensorDataType.Bytes)
        {
            var offset = 0;
            for (var i = 0L; i < tensor.ElementCount; i++)
            {
                if (data.Length - offset < 4)
                {
                    throw InferenceException.BadRequest($"input '{tensor.Name}': binary BYTES data ends inside element {i}'s length prefix");
                }

                var length = BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);
                if (length > (uint)(data.Length - offset - 4))
                {
                    throw InferenceException.BadRequest($"input '{tensor.Name}': binary BYTES element {i} claims {length} bytes, past the end of its data");
                }

                offset += 4 + (int)length;
            }

            if (offset != data.Length)
            {
                throw InferenceException.BadRequest(
                    $"input '{tensor.Name}': binary BYTES data holds {data.Length - offset} bytes after its {tensor.ElementCount} elements");
            }
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string message)
    {
        reader.Read();
        if (reader.TokenType != type)
        {
            throw InferenceException.BadRequest(message);
        }
    }

    private static bool ReadBool(ref Utf8JsonReader reader, string what)
    {
        reader.Read();
        return reader.TokenType switch
        {
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            _ => throw InferenceException.BadRequest($"{what} must be true or false"),
        };
    }

    private static long ReadNonNegative(ref Utf8JsonReader reader, string what, long max)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value) || value < 0 || value > max)
        {
            throw InferenceException.BadRequest(max == long.MaxValue
                ? $"{what} must be a non-negative integer"
                : $"{what} must be an integer from 0 to {max}");
        }

        return value;
    }

    private sealed class Header(int inputCount)
    {
        public string? Id;
        public bool BinaryDataOutput;
        public long? TimeoutMicroseconds;
        public long Priority;
        public bool SawInputs;
        public int Count;
        public readonly InputHeader?[] Inputs = new InputHeader?[inputCount];
        public List<(int Index, bool? Binary)>? Outputs;
    }

    private sealed class InputHeader
    {
        public bool HasName;
        public int SpecIndex = -1;
        public int Order;
        public TensorDataType DataType;
        public long[]? Shape;
        public long BinarySize = -1;
        public int DataStart = -1;
        public int DataLength;
        public long ElementCount;
    }
}
