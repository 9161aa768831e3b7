using System.Runtime.InteropServices;
using System.Text.Json;
using ServingGateway.Inference.Buffers;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;
using static ServingGateway.Inference.Tests.Protocol.Signatures;

namespace ServingGateway.Inference.Tests.Protocol;

public class InferResponseWriterTests
{
    private static PooledTensor Tensor<T>(string name, TensorDataType type, T[] values)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        var tensor = PooledTensor.Rent(name, type, [values.Length], values.Length, bytes.Length);
        bytes.CopyTo(tensor.Span);
        return tensor;
    }

    private static JsonElement WriteOne(PooledTensor tensor, bool binary = false, string? id = null)
    {
        using var buffer = new PooledBufferWriter();
        InferResponseWriter.Write(buffer, "m", "3", id, [tensor], [new RequestedOutput(0, binary)]);
        return JsonDocument.Parse(buffer.WrittenMemory).RootElement.Clone();
    }

    [Fact]
    public void Write_Fp32_WritesShortestRoundTripNumbersAndHeaderFields()
    {
        using var tensor = Tensor("y", TensorDataType.Fp32, new[] { 0.1f, -2.5f, 3.4028235e38f });

        var json = WriteOne(tensor, id: "abc");

        Assert.Equal("m", json.GetProperty("model_name").GetString());
        Assert.Equal("3", json.GetProperty("model_version").GetString());
        Assert.Equal("abc", json.GetProperty("id").GetString());
        var output = json.GetProperty("outputs")[0];
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal([3L], output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([0.1f, -2.5f, 3.4028235e38f], output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()));
        Assert.Equal("[0.1,-2.5,3.4028235E+38]", output.GetProperty("data").GetRawText());
    }

    [Fact]
    public void Write_NoId_OmitsId()
    {
        using var tensor = Tensor("y", TensorDataType.Int32, new[] { 1 });

        Assert.False(WriteOne(tensor).TryGetProperty("id", out _));
    }

    [Fact]
    public void Write_NonFiniteFloats_WritesNamedStrings()
    {
        using var tensor = Tensor("y", TensorDataType.Fp64, new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1.0 });

        var data = WriteOne(tensor).GetProperty("outputs")[0].GetProperty("data").GetRawText();

        Assert.Equal("[\"NaN\",\"Infinity\",\"-Infinity\",1]", data);
    }

    [Fact]
    public void Write_Fp16_WritesHalfShortestForm()
    {
        using var tensor = Tensor("y", TensorDataType.Fp16, new[] { (Half)0.1, (Half)(-65504), Half.NaN });

        var data = WriteOne(tensor).GetProperty("outputs")[0].GetProperty("data").GetRawText();

        Assert.Equal("[0.1,-65500,\"NaN\"]", data);
    }

    [Fact]
    public void Write_Bf16_WritesWidenedValue()
    {
        using var tensor = Tensor("y", TensorDataType.Bf16, new ushort[] { 0x3F80, 0xC049 });

        var data = WriteOne(tensor).GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle());

        Assert.Equal([1f, -3.140625f], data);
    }

    [Fact]
    public void Write_IntegersAndBool_WritesExactValues()
    {
        using var u64 = Tensor("a", TensorDataType.UInt64, new[] { ulong.MaxValue });
        using var i8 = Tensor("b", TensorDataType.Int8, new sbyte[] { -128 });
        using var b = Tensor("c", TensorDataType.Bool, new byte[] { 1, 0 });

        Assert.Equal("[18446744073709551615]", WriteOne(u64).GetProperty("outputs")[0].GetProperty("data").GetRawText());
        Assert.Equal("[-128]", WriteOne(i8).GetProperty("outputs")[0].GetProperty("data").GetRawText());
        Assert.Equal("[true,false]", WriteOne(b).GetProperty("outputs")[0].GetProperty("data").GetRawText());
    }

    [Fact]
    public void Write_Bytes_WritesStringsReadably()
    {
        var bytes = Prefixed("h\u00e9"u8.ToArray(), "\"q\""u8.ToArray());
        using var tensor = PooledTensor.Rent("s", TensorDataType.Bytes, [2], 2, bytes.Length);
        bytes.CopyTo(tensor.Span);

        var data = WriteOne(tensor).GetProperty("outputs")[0].GetProperty("data");

        Assert.Equal(["h\u00e9", "\"q\""], data.EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Write_BytesNotUtf8AsJson_Is400ButBinaryIsFine()
    {
        var bytes = Prefixed([0xFF, 0xFE]);
        using var tensor = PooledTensor.Rent("s", TensorDataType.Bytes, [1], 1, bytes.Length);
        bytes.CopyTo(tensor.Span);

        var ex = Assert.Throws<InferenceException>(() => WriteOne(tensor));
        var binary = WriteOne(tensor, binary: true);

        Assert.Contains("binary_data", ex.Message, StringComparison.Ordinal);
        Assert.Equal(bytes.Length, binary.GetProperty("outputs")[0].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
    }

    [Fact]
    public void Write_BinaryOutput_HasSizeAndNoData()
    {
        using var tensor = Tensor("y", TensorDataType.Fp32, new[] { 1f, 2f });

        var output = WriteOne(tensor, binary: true).GetProperty("outputs")[0];

        Assert.False(output.TryGetProperty("data", out _));
        Assert.Equal(8, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
    }
}
