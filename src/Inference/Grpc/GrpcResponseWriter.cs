using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Google.Protobuf.Collections;
using ServingGateway.Inference.Tensors;
using OpenInferenceProtocol;

namespace ServingGateway.Inference.Grpc;

/// <summary>
/// Builds a <see cref="ModelInferResponse"/> from a request's outputs (aligned with the outputs it asked for):
/// raw (<c>raw_output_contents</c>, one per output, Triton's form) when the request sent raw inputs or an output
/// has no typed field (FP16, BF16), typed <c>contents</c> otherwise. The bytes are copied out of the pooled
/// tensors, which go back to the pool before the message is sent.
/// </summary>
internal static class GrpcResponseWriter
{
    /// <summary>The response for <paramref name="outputs"/> of <paramref name="modelName"/> version <paramref name="version"/>.</summary>
    public static ModelInferResponse Write(string modelName, string version, string? id, PooledTensor[] outputs, bool raw)
    {
        var response = new ModelInferResponse { ModelName = modelName, ModelVersion = version, Id = id ?? "" };
        raw |= Array.Exists(outputs, o => GrpcRequestReader.TypedField(o.DataType) is null);
        foreach (var output in outputs)
        {
            var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = output.Name, Datatype = output.DataType.ToOipName() };
            tensor.Shape.AddRange(output.Shape);
            if (raw)
            {
                response.RawOutputContents.Add(ByteString.CopyFrom(output.Span));
            }
            else
            {
                tensor.Contents = Typed(output);
            }

            response.Outputs.Add(tensor);
        }

        return response;
    }

    private static InferTensorContents Typed(PooledTensor tensor)
    {
        ReadOnlySpan<byte> data = tensor.Span;
        var contents = new InferTensorContents();
        switch (tensor.DataType)
        {
            case TensorDataType.Bool:
                foreach (var b in data)
                {
                    contents.BoolContents.Add(b != 0);
                }

                break;
            case TensorDataType.Fp32:
                Add(contents.Fp32Contents, MemoryMarshal.Cast<byte, float>(data));
                break;
            case TensorDataType.Fp64:
                Add(contents.Fp64Contents, MemoryMarshal.Cast<byte, double>(data));
                break;
            case TensorDataType.Int64:
                Add(contents.Int64Contents, MemoryMarshal.Cast<byte, long>(data));
                break;
            case TensorDataType.UInt64:
                Add(contents.Uint64Contents, MemoryMarshal.Cast<byte, ulong>(data));
                break;
            case TensorDataType.Int32:
                Add(contents.IntContents, MemoryMarshal.Cast<byte, int>(data));
                break;
            case TensorDataType.UInt32:
                Add(contents.UintContents, MemoryMarshal.Cast<byte, uint>(data));
                break;
            case TensorDataType.Int16:
                foreach (var v in MemoryMarshal.Cast<byte, short>(data))
                {
                    contents.IntContents.Add(v);
                }

                break;
            case TensorDataType.Int8:
                foreach (var v in MemoryMarshal.Cast<byte, sbyte>(data))
                {
                    contents.IntContents.Add(v);
                }

                break;
            case TensorDataType.UInt16:
                foreach (var v in MemoryMarshal.Cast<byte, ushort>(data))
                {
                    contents.UintContents.Add(v);
                }

                break;
            case TensorDataType.UInt8:
                foreach (var v in data)
                {
                    contents.UintContents.Add(v);
                }

                break;
            case TensorDataType.Bytes:
                for (var at = 0; at < data.Length;)
                {
                    var length = BinaryPrimitives.ReadInt32LittleEndian(data[at..]);
                    contents.BytesContents.Add(ByteString.CopyFrom(data.Slice(at + 4, length)));
                    at += 4 + length;
                }

                break;
            default:
                throw new InvalidOperationException($"no typed contents for {tensor.DataType}");
        }

        return contents;
    }

    private static void Add<T>(RepeatedField<T> field, ReadOnlySpan<T> values)
    {
        field.Capacity = values.Length;
        foreach (var v in values)
        {
            field.Add(v);
        }
    }
}
