using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.LoadTool.Payloads;

/// <summary>
/// Encodes an OIP infer request as JSON (unchanged) or with the binary tensor data extension: each
/// input's <c>data</c> (flat or nested) becomes little-endian bytes after the JSON header, the input
/// gets <c>"parameters": {"binary_data_size": N}</c>, and the request asks for binary outputs
/// (<c>"binary_data_output": true</c>). Everything else in the request (id, outputs, parameters)
/// is kept.
/// </summary>
internal static class PayloadEncoder
{
    public static InferRequestBody Encode(JsonObject request, bool binary) =>
        binary ? EncodeBinary(request) : new InferRequestBody(JsonSerializer.SerializeToUtf8Bytes(request), null);

    private static InferRequestBody EncodeBinary(JsonObject request)
    {
        var header = (JsonObject)request.DeepClone();
        if (header["inputs"] is not JsonArray inputs)
        {
            throw new LoadToolException("the request has no \"inputs\" array");
        }

        var tensors = new List<byte[]>();
        foreach (var node in inputs)
        {
            if (node is not JsonObject input || input["data"] is not JsonNode data)
            {
                throw new LoadToolException("every input needs \"data\" to be sent as binary");
            }

            var datatype = input["datatype"]?.GetValue<string>() ?? throw new LoadToolException("an input has no \"datatype\"");
            var bytes = RawBytes(data, datatype);
            tensors.Add(bytes);
            input.Remove("data");
            Parameters(input)["binary_data_size"] = bytes.Length;
        }

        Parameters(header)["binary_data_output"] = true;
        var headerBytes = JsonSerializer.SerializeToUtf8Bytes(header);
        var body = new byte[headerBytes.Length + tensors.Sum(t => t.Length)];
        headerBytes.CopyTo(body, 0);
        var offset = headerBytes.Length;
        foreach (var tensor in tensors)
        {
            tensor.CopyTo(body, offset);
            offset += tensor.Length;
        }

        return new InferRequestBody(body, headerBytes.Length);
    }

    /// <summary>
    /// An input's <c>data</c> (flat or nested) as the tensor's raw bytes: little-endian, row-major, BYTES elements
    /// each with a 4-byte length prefix. The binary extension and gRPC's <c>raw_input_contents</c> share this layout.
    /// </summary>
    internal static byte[] RawBytes(JsonNode data, string datatype)
    {
        using var document = JsonDocument.Parse(data.ToJsonString());
        var bytes = new List<byte>();
        Flatten(document.RootElement, element => WriteElement(bytes, datatype, element));
        return [.. bytes];
    }

    private static JsonObject Parameters(JsonObject owner)
    {
        if (owner["parameters"] is JsonObject parameters)
        {
            return parameters;
        }

        parameters = [];
        owner["parameters"] = parameters;
        return parameters;
    }

    private static void Flatten(JsonElement element, Action<JsonElement> write)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                Flatten(item, write);
            }
        }
        else
        {
            write(element);
        }
    }

    /// <summary>Appends one element of <paramref name="datatype"/> in the binary extension's layout.</summary>
    internal static void WriteElement(List<byte> bytes, string datatype, JsonElement value)
    {
        Span<byte> buffer = stackalloc byte[8];
        int size;
        switch (datatype)
        {
            case "BOOL": buffer[0] = value.GetBoolean() ? (byte)1 : (byte)0; size = 1; break;
            case "INT8": buffer[0] = (byte)value.GetSByte(); size = 1; break;
            case "UINT8": buffer[0] = value.GetByte(); size = 1; break;
            case "INT16": BinaryPrimitives.WriteInt16LittleEndian(buffer, value.GetInt16()); size = 2; break;
            case "UINT16": BinaryPrimitives.WriteUInt16LittleEndian(buffer, value.GetUInt16()); size = 2; break;
            case "INT32": BinaryPrimitives.WriteInt32LittleEndian(buffer, value.GetInt32()); size = 4; break;
            case "UINT32": BinaryPrimitives.WriteUInt32LittleEndian(buffer, value.GetUInt32()); size = 4; break;
            case "INT64": BinaryPrimitives.WriteInt64LittleEndian(buffer, value.GetInt64()); size = 8; break;
            case "UINT64": BinaryPrimitives.WriteUInt64LittleEndian(buffer, value.GetUInt64()); size = 8; break;
            case "FP16": BinaryPrimitives.WriteHalfLittleEndian(buffer, (Half)value.GetDouble()); size = 2; break;
            case "BF16": BinaryPrimitives.WriteUInt16LittleEndian(buffer, BFloat16Bits.FromSingle(value.GetSingle())); size = 2; break;
            case "FP32": BinaryPrimitives.WriteSingleLittleEndian(buffer, value.GetSingle()); size = 4; break;
            case "FP64": BinaryPrimitives.WriteDoubleLittleEndian(buffer, value.GetDouble()); size = 8; break;
            case "BYTES":
                var text = Encoding.UTF8.GetBytes(value.GetString() ?? "");
                BinaryPrimitives.WriteInt32LittleEndian(buffer, text.Length);
                bytes.AddRange(buffer[..4]);
                bytes.AddRange(text);
                return;
            default:
                throw new LoadToolException($"cannot encode datatype '{datatype}' as binary");
        }

        bytes.AddRange(buffer[..size]);
    }
}
