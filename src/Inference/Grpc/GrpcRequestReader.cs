using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf.Collections;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;
using OpenInferenceProtocol;

namespace ServingGateway.Inference.Grpc;

/// <summary>
/// Grpc: the Open Inference Protocol's gRPC service (<see cref="OipGrpcService"/>) on the same pipeline as REST.
/// Reads a <see cref="ModelInferRequest"/> into the pooled tensors of an <see cref="InferRequest"/>, validating it
/// against the model before anything is rented: the same checks and messages as REST (<see cref="ShapeCheck"/>),
/// then the data, raw (<c>raw_input_contents</c>, Triton's form, copied as is) or typed (<c>contents</c>).
/// </summary>
internal static class GrpcRequestReader
{
    /// <summary>Reads <paramref name="message"/> for a model with <paramref name="signature"/>.</summary>
    /// <exception cref="InferenceException">400 for anything that does not fit the model.</exception>
    public static InferRequest Read(ModelInferRequest message, ModelSignature signature, int maxRank)
    {
        var raw = message.RawInputContents;
        if (raw.Count > 0 && raw.Count != message.Inputs.Count)
        {
            throw InferenceException.BadRequest(
                $"the request has {message.Inputs.Count} inputs but {raw.Count} raw_input_contents; send one per input, in the order of inputs, or none");
        }

        // Which request input feeds each model input; then the shared checks in the model's order.
        var byInput = new ModelInferRequest.Types.InferInputTensor?[signature.Inputs.Length];
        var rawIndex = new int[signature.Inputs.Length];
        for (var i = 0; i < message.Inputs.Count; i++)
        {
            var input = message.Inputs[i];
            var index = signature.FindInput(input.Name);
            if (index < 0)
            {
                throw ShapeCheck.UnknownInput(InferenceException.Clip(input.Name), signature);
            }

            if (byInput[index] is not null)
            {
                throw InferenceException.BadRequest($"input '{signature.Inputs[index].Name}' is given twice");
            }

            byInput[index] = input;
            rawIndex[index] = i;
        }

        if (message.Inputs.Count == 0)
        {
            throw InferenceException.BadRequest("the request has no inputs");
        }

        if (ShapeCheck.Missing(signature, byInput) is { } missing)
        {
            throw missing;
        }

        var check = new ShapeCheck(signature);
        var shapes = new long[signature.Inputs.Length][];
        var counts = new long[signature.Inputs.Length];
        for (var i = 0; i < signature.Inputs.Length; i++)
        {
            var input = byInput[i]!;
            var spec = signature.Inputs[i];
            if (!TensorDataTypes.TryParse(input.Datatype, out var dataType))
            {
                throw InferenceException.BadRequest(input.Datatype.Length == 0
                    ? $"input '{spec.Name}' has no datatype"
                    : $"unknown datatype \"{InferenceException.Clip(input.Datatype)}\"; use one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BF16, BYTES");
            }

            shapes[i] = ReadShape(input.Shape, maxRank);
            counts[i] = check.Input(i, dataType, shapes[i]);
            if (raw.Count > 0)
            {
                if (input.Contents is { } contents && CountTyped(contents) > 0)
                {
                    throw InferenceException.BadRequest($"input '{spec.Name}' has typed contents but the request has raw_input_contents; send one or the other");
                }

                CheckRawSize(spec, shapes[i], counts[i], raw[rawIndex[i]].Length);
            }
            else
            {
                CheckTypedCount(spec, shapes[i], counts[i], input.Contents);
            }
        }

        var tensors = new PooledTensor[signature.Inputs.Length];
        try
        {
            for (var i = 0; i < tensors.Length; i++)
            {
                var spec = signature.Inputs[i];
                if (raw.Count > 0)
                {
                    var bytes = raw[rawIndex[i]].Span;
                    tensors[i] = PooledTensor.Rent(spec.Name, spec.DataType, shapes[i], counts[i], bytes.Length);
                    bytes.CopyTo(tensors[i].Span);
                    InferRequestReader.CheckBinary(tensors[i]);
                }
                else
                {
                    tensors[i] = ReadTyped(spec, shapes[i], counts[i], byInput[i]!.Contents);
                }
            }

            return new InferRequest(message.Id.Length > 0 ? message.Id : null, tensors, ReadOutputs(message, signature), check.BatchSize)
            {
                TimeoutMicroseconds = ReadNonNegative(message.Parameters, "timeout", "parameter \"timeout\" (microseconds)", InferRequestReader.MaxTimeoutMicroseconds),
                Priority = ReadNonNegative(message.Parameters, "priority", "parameter \"priority\"", long.MaxValue) ?? 0,
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

    /// <summary>True when the response should carry its outputs raw: the request sent raw inputs.</summary>
    public static bool WantsRaw(ModelInferRequest message) => message.RawInputContents.Count > 0;

    private static long[] ReadShape(RepeatedField<long> shape, int maxRank)
    {
        if (shape.Count > maxRank)
        {
            throw ShapeCheck.TooManyDimensions(maxRank);
        }

        var dims = new long[shape.Count];
        for (var d = 0; d < dims.Length; d++)
        {
            dims[d] = shape[d] >= 0 ? shape[d] : throw ShapeCheck.NegativeDimension(shape[d]);
        }

        return dims;
    }

    private static void CheckRawSize(TensorSpec spec, long[] shape, long count, int length)
    {
        var fits = spec.DataType == TensorDataType.Bytes ? length >= 4 * count : length == count * spec.DataType.ElementSize();
        if (!fits)
        {
            throw InferenceException.BadRequest(
                $"input '{spec.Name}' has {length} bytes of raw_input_contents, which does not fit shape {TensorShape.Format(shape)} of {spec.DataType.ToOipName()}");
        }
    }

    private static void CheckTypedCount(TensorSpec spec, long[] shape, long count, InferTensorContents? contents)
    {
        var field = TypedField(spec.DataType)
            ?? throw InferenceException.BadRequest($"input '{spec.Name}' is {spec.DataType.ToOipName()}, which has no typed contents; send it in raw_input_contents");
        var sent = contents is null ? 0 : CountTyped(contents);
        var matching = contents is null ? 0 : CountField(contents, spec.DataType);
        if (sent != matching)
        {
            throw InferenceException.BadRequest($"input '{spec.Name}' is {spec.DataType.ToOipName()}: its contents go in {field}, and only there");
        }

        if (matching != count)
        {
            throw InferenceException.BadRequest(
                $"input '{spec.Name}' has shape {TensorShape.Format(shape)} ({count} elements) but its {field} holds {matching}");
        }
    }

    // The typed field of each datatype (the protocol's InferTensorContents); null: none (FP16, BF16).
    internal static string? TypedField(TensorDataType type) => type switch
    {
        TensorDataType.Bool => "bool_contents",
        TensorDataType.Int8 or TensorDataType.Int16 or TensorDataType.Int32 => "int_contents",
        TensorDataType.Int64 => "int64_contents",
        TensorDataType.UInt8 or TensorDataType.UInt16 or TensorDataType.UInt32 => "uint_contents",
        TensorDataType.UInt64 => "uint64_contents",
        TensorDataType.Fp32 => "fp32_contents",
        TensorDataType.Fp64 => "fp64_contents",
        TensorDataType.Bytes => "bytes_contents",
        _ => null,
    };

    private static int CountTyped(InferTensorContents c) =>
        c.BoolContents.Count + c.IntContents.Count + c.Int64Contents.Count + c.UintContents.Count + c.Uint64Contents.Count
        + c.Fp32Contents.Count + c.Fp64Contents.Count + c.BytesContents.Count;

    private static int CountField(InferTensorContents c, TensorDataType type) => type switch
    {
        TensorDataType.Bool => c.BoolContents.Count,
        TensorDataType.Int8 or TensorDataType.Int16 or TensorDataType.Int32 => c.IntContents.Count,
        TensorDataType.Int64 => c.Int64Contents.Count,
        TensorDataType.UInt8 or TensorDataType.UInt16 or TensorDataType.UInt32 => c.UintContents.Count,
        TensorDataType.UInt64 => c.Uint64Contents.Count,
        TensorDataType.Fp32 => c.Fp32Contents.Count,
        TensorDataType.Fp64 => c.Fp64Contents.Count,
        TensorDataType.Bytes => c.BytesContents.Count,
        _ => 0,
    };

    // Typed contents into a pooled tensor in the server's layout (little-endian; BYTES length-prefixed).
    private static PooledTensor ReadTyped(TensorSpec spec, long[] shape, long count, InferTensorContents contents)
    {
        var type = spec.DataType;
        if (type == TensorDataType.Bytes)
        {
            var total = 0L;
            foreach (var element in contents.BytesContents)
            {
                total += 4 + element.Length;
            }

            if (total > InferRequestReader.MaxTensorBytes)
            {
                throw InferenceException.BadRequest($"input '{spec.Name}' needs {total} bytes, more than one tensor can hold ({InferRequestReader.MaxTensorBytes})");
            }

            var strings = PooledTensor.Rent(spec.Name, type, shape, count, (int)total);
            var at = 0;
            foreach (var element in contents.BytesContents)
            {
                BinaryPrimitives.WriteInt32LittleEndian(strings.Span[at..], element.Length);
                element.Span.CopyTo(strings.Span[(at + 4)..]);
                at += 4 + element.Length;
            }

            return strings;
        }

        var tensor = PooledTensor.Rent(spec.Name, type, shape, count, checked((int)(count * type.ElementSize())));
        try
        {
            var data = tensor.Span;
            switch (type)
            {
                case TensorDataType.Bool:
                    for (var i = 0; i < contents.BoolContents.Count; i++)
                    {
                        data[i] = contents.BoolContents[i] ? (byte)1 : (byte)0;
                    }

                    break;
                case TensorDataType.Fp32:
                    Copy(contents.Fp32Contents, MemoryMarshal.Cast<byte, float>(data));
                    break;
                case TensorDataType.Fp64:
                    Copy(contents.Fp64Contents, MemoryMarshal.Cast<byte, double>(data));
                    break;
                case TensorDataType.Int64:
                    Copy(contents.Int64Contents, MemoryMarshal.Cast<byte, long>(data));
                    break;
                case TensorDataType.UInt64:
                    Copy(contents.Uint64Contents, MemoryMarshal.Cast<byte, ulong>(data));
                    break;
                case TensorDataType.Int32:
                    Copy(contents.IntContents, MemoryMarshal.Cast<byte, int>(data));
                    break;
                case TensorDataType.UInt32:
                    Copy(contents.UintContents, MemoryMarshal.Cast<byte, uint>(data));
                    break;
                case TensorDataType.Int8:
                    for (var i = 0; i < contents.IntContents.Count; i++)
                    {
                        data[i] = (byte)(sbyte)InRange(spec, i, contents.IntContents[i], sbyte.MinValue, sbyte.MaxValue);
                    }

                    break;
                case TensorDataType.Int16:
                    for (var i = 0; i < contents.IntContents.Count; i++)
                    {
                        BinaryPrimitives.WriteInt16LittleEndian(data[(2 * i)..], (short)InRange(spec, i, contents.IntContents[i], short.MinValue, short.MaxValue));
                    }

                    break;
                case TensorDataType.UInt8:
                    for (var i = 0; i < contents.UintContents.Count; i++)
                    {
                        data[i] = (byte)InRange(spec, i, contents.UintContents[i], byte.MinValue, byte.MaxValue);
                    }

                    break;
                case TensorDataType.UInt16:
                    for (var i = 0; i < contents.UintContents.Count; i++)
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(data[(2 * i)..], (ushort)InRange(spec, i, contents.UintContents[i], ushort.MinValue, ushort.MaxValue));
                    }

                    break;
                default:
                    throw new InvalidOperationException($"no typed contents for {type}");
            }

            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    private static void Copy<T>(RepeatedField<T> values, Span<T> destination)
    {
        for (var i = 0; i < values.Count; i++)
        {
            destination[i] = values[i];
        }
    }

    // The 8- and 16-bit types travel in 32-bit fields: a value out of the type's range is refused, never cut.
    private static long InRange(TensorSpec spec, int index, long value, long min, long max) =>
        value >= min && value <= max
            ? value
            : throw InferenceException.BadRequest($"input '{spec.Name}' element {index} is {value}, not a valid {spec.DataType.ToOipName()} value");

    private static RequestedOutput[] ReadOutputs(ModelInferRequest message, ModelSignature signature)
    {
        if (message.Outputs.Count == 0)
        {
            var all = new RequestedOutput[signature.Outputs.Length];
            for (var i = 0; i < all.Length; i++)
            {
                all[i] = new RequestedOutput(i, Binary: false);
            }

            return all;
        }

        var outputs = new RequestedOutput[message.Outputs.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            var name = message.Outputs[i].Name;
            var index = signature.FindOutput(name);
            if (index < 0)
            {
                throw ShapeCheck.UnknownOutput(InferenceException.Clip(name), signature);
            }

            if (Array.FindIndex(outputs, 0, i, o => o.Index == index) >= 0)
            {
                throw InferenceException.BadRequest($"output '{signature.Outputs[index].Name}' is requested twice");
            }

            outputs[i] = new RequestedOutput(index, Binary: false);
        }

        return outputs;
    }

    // A request parameter that must be a non-negative integer (int64_param or uint64_param), as REST's.
    private static long? ReadNonNegative(MapField<string, InferParameter> parameters, string key, string what, long max)
    {
        if (!parameters.TryGetValue(key, out var parameter))
        {
            return null;
        }

        long? value = parameter.ParameterChoiceCase switch
        {
            InferParameter.ParameterChoiceOneofCase.Int64Param => parameter.Int64Param,
            InferParameter.ParameterChoiceOneofCase.Uint64Param when parameter.Uint64Param <= long.MaxValue => (long)parameter.Uint64Param,
            _ => null,
        };
        if (value is not { } v || v < 0 || v > max)
        {
            throw InferenceException.BadRequest(max == long.MaxValue
                ? $"{what} must be a non-negative integer"
                : $"{what} must be an integer from 0 to {max}");
        }

        return v;
    }
}
