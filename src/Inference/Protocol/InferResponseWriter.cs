using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Unicode;
using System.Text.Encodings.Web;
using System.Text.Json;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Protocol;

/// <summary>
/// Writes the JSON part of an OIP inference response. Outputs asked for as binary get a
/// binary_data_size parameter instead of "data"; the caller sends their bytes after the JSON.
/// </summary>
/// <remarks>
/// JSON has no NaN or Infinity, so non-finite floats are written as the strings "NaN", "Infinity"
/// and "-Infinity" (System.Text.Json's named literals); ask for binary output to get them as bits.
/// </remarks>
internal static class InferResponseWriter
{
    // Relaxed escaping keeps UTF-8 text readable; these responses are API JSON, never embedded in HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes the response JSON for <paramref name="outputs"/>, aligned with <paramref name="requested"/>.</summary>
    /// <exception cref="InferenceException">400 when a BYTES output asked for as JSON is not valid UTF-8.</exception>
    public static void Write(IBufferWriter<byte> destination, string modelName, string version, string? id, PooledTensor[] outputs, RequestedOutput[] requested)
    {
        for (var i = 0; i < outputs.Length; i++)
        {
            if (!requested[i].Binary && outputs[i].DataType == TensorDataType.Bytes)
            {
                CheckUtf8(outputs[i]);
            }
        }

        using var writer = new Utf8JsonWriter(destination, WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("model_name"u8, modelName);
        writer.WriteString("model_version"u8, version);
        if (id is not null)
        {
            writer.WriteString("id"u8, id);
        }

        writer.WriteStartArray("outputs"u8);
        for (var i = 0; i < outputs.Length; i++)
        {
            var output = outputs[i];
            writer.WriteStartObject();
            TensorJson.WriteHeader(writer, output.Name, output.DataType, output.Shape);
            if (requested[i].Binary)
            {
                writer.WriteStartObject("parameters"u8);
                writer.WriteNumber("binary_data_size"u8, output.Length);
                writer.WriteEndObject();
            }
            else
            {
                writer.WritePropertyName("data"u8);
                WriteData(writer, output);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteData(Utf8JsonWriter writer, PooledTensor tensor)
    {
        ReadOnlySpan<byte> data = tensor.Span;
        writer.WriteStartArray();
        switch (tensor.DataType)
        {
            case TensorDataType.Bool:
                foreach (var b in data)
                {
                    writer.WriteBooleanValue(b != 0);
                }

                break;
            case TensorDataType.UInt8:
                foreach (var b in data)
                {
                    writer.WriteNumberValue(b);
                }

                break;
            case TensorDataType.Int8:
                foreach (var v in MemoryMarshal.Cast<byte, sbyte>(data))
                {
                    writer.WriteNumberValue(v);
                }

                break;
            case TensorDataType.UInt16:
                foreach (var v in MemoryMarshal.Cast<byte, ushort>(data))
                {
                    writer.WriteNumberValue(v);
                }

                break;
            case TensorDataType.Int16:
                foreach (var v in MemoryMarshal.Cast<byte, short>(data))
                {
                    writer.WriteNumberValue(v);
                }

                break;
            case TensorDataType.UInt32:
                foreach (var v in MemoryMarshal.Cast<byte, uint>(data))
                {
                    writer.WriteNumberValue(v);
                }

                break;
            case TensorDataType.Int32:
                foreach (var v in MemoryMarshal.Cast<byte, int>(data))
                {
                    writer.WriteNumberValue(v);
                }

                break;
            case TensorDataType.UInt64:
                foreach (var v in MemoryMarshal.Cast<byte, ulong>(data))
                {
                    writer.WriteNumberValue(v);
                }

                break;
            case TensorDataType.Int64:
                foreach (var v in MemoryMarshal.Cast<byte, long>(data))
                {
                    writer.WriteNumberValue(v);
                }

                break;
            case TensorDataType.Fp32:
                foreach (var v in MemoryMarshal.Cast<byte, float>(data))
                {
                    WriteSingle(writer, v);
                }

                break;
            case TensorDataType.Fp64:
                foreach (var v in MemoryMarshal.Cast<byte, double>(data))
                {
                    if (double.IsFinite(v))
                    {
                        writer.WriteNumberValue(v);
                    }
                    else
                    {
                        WriteNonFinite(writer, double.IsNaN(v), v > 0);
                    }
                }

                break;
            case TensorDataType.Fp16:
                Span<byte> text = stackalloc byte[32];
                foreach (var v in MemoryMarshal.Cast<byte, Half>(data))
                {
                    if (!Half.IsFinite(v))
                    {
                        WriteNonFinite(writer, Half.IsNaN(v), v > Half.Zero);
                    }
                    else if (v.TryFormat(text, out var written, default, CultureInfo.InvariantCulture))
                    {
                        // Half's own shortest round-trip form: 0.1, not 0.0999755859375.
                        writer.WriteRawValue(text[..written], skipInputValidation: true);
                    }
                    else
                    {
                        writer.WriteNumberValue((float)v);
                    }
                }

                break;
            case TensorDataType.Bf16:
                foreach (var v in MemoryMarshal.Cast<byte, ushort>(data))
                {
                    WriteSingle(writer, BFloat16Bits.ToSingle(v));
                }

                break;
            case TensorDataType.Bytes:
                var offset = 0;
                while (offset < data.Length)
                {
                    var length = BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
                    writer.WriteStringValue(data.Slice(offset + 4, length));
                    offset += 4 + length;
                }

                break;
        }

        writer.WriteEndArray();
    }

    private static void WriteSingle(Utf8JsonWriter writer, float value)
    {
        if (float.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            WriteNonFinite(writer, float.IsNaN(value), value > 0);
        }
    }

    private static void WriteNonFinite(Utf8JsonWriter writer, bool isNaN, bool positive) =>
        writer.WriteStringValue(isNaN ? "NaN"u8 : positive ? "Infinity"u8 : "-Infinity"u8);

    private static void CheckUtf8(PooledTensor tensor)
    {
        ReadOnlySpan<byte> data = tensor.Span;
        var offset = 0;
        while (offset < data.Length)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
            if (!Utf8.IsValid(data.Slice(offset + 4, length)))
            {
                throw InferenceException.BadRequest(
                    $"output '{tensor.Name}' holds bytes that are not valid UTF-8; request it with \"binary_data\": true");
            }

            offset += 4 + length;
        }
    }
}
